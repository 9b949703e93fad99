package replica

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// A running follower whose snapshot's database does not open (a full
// disk, too many open files: here an open made to fail once) stops with
// ErrNodeFailed, its own database put back whole and nothing of the swap
// left beside it; restarted, it catches up from the snapshot again.
func TestRunningFollowerFailedRestoreKeepsItsDatabase(t *testing.T) {
	// The seam is set before any node starts and read through an atomic:
	// failDir names the database whose next open fails, once.
	var failDir atomic.Pointer[string]
	var failed atomic.Int32
	t.Cleanup(func() { openKV = kv.Open })
	openKV = func(dir string, o *kv.Options) (*kv.DB, error) {
		if p := failDir.Load(); p != nil && *p == dir && failDir.CompareAndSwap(p, nil) {
			failed.Add(1)
			return nil, errors.New("an open made to fail by the test")
		}
		return kv.Open(dir, o)
	}
	c := newCluster(t, 3, func(rc *raft.Config) {
		rc.SnapshotThreshold = 50
		rc.TrailingLogs = 10
		rc.SnapshotInterval = 50 * time.Millisecond
	})
	n := c.counter("r", "n")
	n.incr(20)
	last, err := c.leader().LastVersion(ReadOptions{})
	require.NoError(t, err)
	c.caughtUp(last)
	f := 1
	if c.nodes[f].IsLeader() {
		f = 2
	}
	fol := c.nodes[f]
	before, ok, err := fol.Get("r", "n", ReadOptions{Stale: true})
	require.NoError(t, err)
	require.True(t, ok)

	// Cut off, the follower misses more than the log the others keep.
	c.part.Isolate(c.addrs[f])
	for range 200 {
		eventually(t, "an incr", func() bool {
			l := c.leaderOf()
			if l == nil || l == fol {
				return false
			}
			_, err := l.Incr("r", "n", 1)
			return err == nil
		})
	}
	for i, nd := range c.nodes {
		if i != f {
			require.NoError(t, nd.Snapshot())
		}
	}
	dir := filepath.Join(c.dir, fol.ID())
	db := filepath.Join(dir, dbDir)
	failDir.Store(&db)
	c.part.Heal()

	eventually(t, "the follower's failed restore", func() bool { return fol.failure() != nil })
	require.EqualValues(t, 1, failed.Load(), "the snapshot's database was opened once, and failed")
	require.ErrorIs(t, fol.failure(), ErrNodeFailed)
	require.ErrorContains(t, fol.failure(), "the snapshot's database")
	_, _, err = fol.Get("r", "n", ReadOptions{Stale: true})
	require.ErrorIs(t, err, ErrNodeFailed, "a failed node answers nothing, stale reads included")
	c.mu.Lock()
	c.nodes[f] = nil
	c.mu.Unlock()
	fol.Close() // its error is the failure's or raft's; the files are what matter
	for _, d := range []string{stagedDir, oldDir, failedDir} {
		_, err := os.Stat(filepath.Join(dir, d))
		require.True(t, os.IsNotExist(err), "%s is left after a failed swap: %v", d, err)
	}
	kdb, err := kv.Open(db, nil)
	require.NoError(t, err, "the follower's own database opens")
	got, ok, err := kdb.Get("r", "n")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, before.Value.Equal(got.Value), "the follower's database is what it held before the snapshot: %v, want %v", got.Value, before.Value)
	require.NoError(t, kdb.Close())

	// Restarted, it takes the snapshot again, and it opens this time.
	c.restart(f)
	last, err = c.leader().LastVersion(ReadOptions{})
	require.NoError(t, err)
	c.caughtUp(last)
	want, _, err := c.leader().Get("r", "n", ReadOptions{})
	require.NoError(t, err)
	got2, _, err := c.nodes[f].Get("r", "n", ReadOptions{Stale: true})
	require.NoError(t, err)
	require.True(t, want.Value.Equal(got2.Value), "the restarted follower: %v, the leader: %v", got2.Value, want.Value)
	v, _ := got2.Value.AsInt()
	b, _ := before.Value.AsInt()
	require.GreaterOrEqual(t, v, b+200, "the restarted follower holds every increment")
}
