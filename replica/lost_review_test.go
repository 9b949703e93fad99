package replica

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// Probe: a node whose Buffered database lost its newest commits (here:
// replaced by an older checkpoint of itself) catches up on restart,
// whether the lost commits are only in raft's log or also in a snapshot
// newer than the database; every node ends with the same value and the
// same versions.
func TestReviewProbeLostBufferedCommits(t *testing.T) {
	for _, snapAfter := range []bool{false, true} {
		t.Run(map[bool]string{false: "log", true: "snapshot"}[snapAfter], func(t *testing.T) {
			c := newCluster(t, 3, func(rc *raft.Config) {
				rc.SnapshotThreshold = 1 << 20
				rc.SnapshotInterval = time.Hour
				rc.TrailingLogs = 5
			})
			n := c.counter("r", "n")
			incr := n.incr
			incr(10)
			for i := range c.nodes {
				require.NoError(t, c.nodes[i].Snapshot())
			}
			incr(10)
			last, err := c.leader().LastVersion(ReadOptions{})
			require.NoError(t, err)
			c.caughtUp(last)
			for i := range 3 {
				old := filepath.Join(c.dir, "old", c.nodes[i].ID())
				require.NoError(t, os.MkdirAll(filepath.Dir(old), 0o755))
				_, err := c.nodes[i].database().Checkpoint(old)
				require.NoError(t, err)
			}
			incr(10)
			ops := []func(){
				func() { c.put("r", "p", kv.Int(7)) },
				func() {
					eventually(t, "a cas", func() bool {
						_, err := c.leader().CompareAndSwapValue("r", "n", ptr(kv.Int(-1)), kv.Int(0)) // no match: writes nothing
						return err == nil
					})
				},
			}
			for _, op := range ops {
				op()
			}
			if snapAfter {
				for i := range c.nodes {
					require.NoError(t, c.nodes[i].Snapshot())
				}
			}
			// Every node, the leader too, loses what came after its checkpoint.
			for i := range 3 {
				c.stop(i)
				db := filepath.Join(c.dir, c.addrsID(i), dbDir)
				require.NoError(t, os.RemoveAll(db))
				require.NoError(t, os.Rename(filepath.Join(c.dir, "old", c.addrsID(i)), db))
			}
			for i := range 3 {
				c.restart(i)
			}
			incr(1)
			n.check()
			last, err = c.leader().LastVersion(ReadOptions{})
			require.NoError(t, err)
			c.caughtUp(last)
			for _, nd := range c.nodes {
				got, _, err := nd.Get("r", "n", ReadOptions{Stale: true})
				require.NoError(t, err)
				require.True(t, kv.Int(n.want).Equal(got.Value), "node %s: %v, want %d", nd.ID(), got.Value, n.want)
				v, err := nd.LastVersion(ReadOptions{Stale: true})
				require.NoError(t, err)
				require.Equal(t, last, v, "node %s", nd.ID())
				h, err := nd.History("r", "n", 0, 0, ReadOptions{Stale: true})
				require.NoError(t, err)
				require.Len(t, h, int(n.want))
			}
		})
	}
}

func (c *cluster) addrsID(i int) string { return "n" + string(rune('0'+i)) }
