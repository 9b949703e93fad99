package replica

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// cluster is a test cluster of nodes on TCP loopback.
type cluster struct {
	mu    sync.Mutex // guards nodes against the clients of a concurrent test
	t     testing.TB
	dir   string
	nodes []*Node
	addrs []string // raft addresses, kept across restarts
	part  *Partition
	tune  func(*raft.Config)
	// putUnknowns counts the Puts of put that failed with ErrUnknownOutcome
	// and were retried: each may have written one version more.
	putUnknowns int
}

// testSecret is the test clusters' shared secret.
const testSecret = "cluster-secret"

// fastRaft shortens raft's timeouts for tests on one machine.
func fastRaft(c *raft.Config) {
	c.HeartbeatTimeout = 150 * time.Millisecond
	c.ElectionTimeout = 150 * time.Millisecond
	c.LeaderLeaseTimeout = 100 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
}

// newCluster starts n nodes: the first bootstraps, the others join.
func newCluster(t testing.TB, n int, tune func(*raft.Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), part: NewPartition(), tune: tune}
	c.nodes = make([]*Node, n)
	c.addrs = make([]string, n)
	for i := range n {
		c.start(i, "127.0.0.1:0")
	}
	t.Cleanup(c.closeAll)
	leader := c.leader()
	for i := 1; i < n; i++ {
		require.NoError(t, leader.Join(c.nodes[i].ID(), c.addrs[i]))
	}
	return c
}

// start opens node i listening at addr.
func (c *cluster) start(i int, addr string) {
	c.t.Helper()
	tune := func(rc *raft.Config) {
		fastRaft(rc)
		if c.tune != nil {
			c.tune(rc)
		}
	}
	nd, err := Open(Config{
		ID: fmt.Sprintf("n%d", i), Dir: filepath.Join(c.dir, fmt.Sprintf("n%d", i)),
		RaftAddr: addr, Bootstrap: i == 0, Tune: tune, Partition: c.part, Timeout: 5 * time.Second, Secret: testSecret,
	})
	require.NoError(c.t, err)
	c.mu.Lock()
	c.nodes[i], c.addrs[i] = nd, nd.RaftAddr()
	c.mu.Unlock()
}

// stop closes node i.
func (c *cluster) stop(i int) {
	c.t.Helper()
	c.mu.Lock()
	nd := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	require.NoError(c.t, nd.Close())
}

// node returns node i (nil while stopped).
func (c *cluster) node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// index returns nd's index in the cluster.
func (c *cluster) index(nd *Node) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.nodes {
		if x == nd {
			return i
		}
	}
	return -1
}

// closeAll closes every node.
func (c *cluster) closeAll() {
	for i := range c.nodes {
		if c.nodes[i] != nil {
			c.stop(i)
		}
	}
}

// restart reopens node i at its old address.
func (c *cluster) restart(i int) { c.start(i, c.addrs[i]) }

// eventually polls cond until it holds or 15 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leader waits for a node to lead and returns it.
func (c *cluster) leader() *Node {
	c.t.Helper()
	var l *Node
	eventually(c.t, "a leader", func() bool {
		l = c.leaderOf()
		return l != nil
	})
	return l
}

// counter increments one key through whichever node leads, retrying
// until an Incr succeeds. An Incr whose leader lost leadership while
// committing it fails with ErrUnknownOutcome yet may have applied, and its
// retry then adds one more: so the value to expect is what the last Incr
// that succeeded returned, which may exceed the number of increments asked
// for by at most the number of unknown outcomes.
type counter struct {
	c        *cluster
	run      kv.RunID
	key      string
	asked    int64 // increments asked for
	want     int64 // what the last Incr that succeeded returned
	unknowns int64 // Incrs that failed with ErrUnknownOutcome
}

func (c *cluster) counter(run kv.RunID, key string) *counter {
	return &counter{c: c, run: run, key: key}
}

// incr adds 1, k times.
func (ct *counter) incr(k int) {
	ct.c.t.Helper()
	for range k {
		ct.asked++
		eventually(ct.c.t, "an incr", func() bool {
			n, err := ct.c.leader().Incr(ct.run, ct.key, 1)
			if errors.Is(err, ErrUnknownOutcome) {
				ct.unknowns++
			}
			if err != nil {
				return false
			}
			ct.want = n
			return true
		})
	}
}

// check fails the test unless every increment asked for counted, and
// beyond them only Incrs of unknown outcome.
func (ct *counter) check() {
	ct.c.t.Helper()
	require.GreaterOrEqual(ct.c.t, ct.want, ct.asked, "every increment counted")
	require.LessOrEqual(ct.c.t, ct.want, ct.asked+ct.unknowns, "only an Incr of unknown outcome counted twice")
}

// caughtUp waits until every running node has applied version v.
func (c *cluster) caughtUp(v kv.Version) {
	c.t.Helper()
	for _, nd := range c.nodes {
		if nd == nil {
			continue
		}
		eventually(c.t, "node "+nd.ID()+" to catch up", func() bool {
			got, err := nd.LastVersion(ReadOptions{Stale: true})
			return err == nil && got >= v
		})
	}
}

// put writes through whichever node leads, retrying while leadership
// moves.
func (c *cluster) put(run kv.RunID, key string, v kv.Value) kv.Version {
	c.t.Helper()
	var ver kv.Version
	eventually(c.t, "a put", func() bool {
		var err error
		ver, err = c.leader().Put(run, key, v)
		if errors.Is(err, ErrUnknownOutcome) {
			c.putUnknowns++
		}
		if err != nil && !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrUnknownOutcome) && !errors.Is(err, raft.ErrLeadershipLost) {
			c.t.Fatalf("put: %v", err)
		}
		return err == nil
	})
	return ver
}

func TestClusterReplicates(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.leader()
	v1, err := leader.Put("r", "a", kv.Int(1))
	require.NoError(t, err)
	n, err := leader.Incr("r", "n", 5)
	require.NoError(t, err)
	require.EqualValues(t, 5, n)
	ok, err := leader.CompareAndSwapVersion("r", "a", v1, kv.String("two"))
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = leader.CompareAndSwapVersion("r", "a", v1, kv.String("three"))
	require.NoError(t, err)
	require.False(t, ok, "a stale version")
	_, err = leader.Put("r", "", kv.Int(1))
	require.ErrorIs(t, err, kv.ErrInvalidKey)
	last, err := leader.LastVersion(ReadOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 3, last, "refused and mismatched commands commit nothing")

	got, ok, err := leader.Get("r", "a", ReadOptions{})
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, kv.String("two").Equal(got.Value))

	c.caughtUp(last)
	for _, nd := range c.nodes {
		if nd == leader {
			continue
		}
		_, _, err := nd.Get("r", "a", ReadOptions{})
		var nl *NotLeaderError
		require.ErrorAs(t, err, &nl, "a linearizable read on a follower")
		require.Equal(t, leader.ID(), nl.LeaderID)
		_, err = nd.Put("r", "b", kv.Int(1))
		require.ErrorIs(t, err, ErrNotLeader)

		h, err := nd.History("r", "a", 0, 0, ReadOptions{Stale: true})
		require.NoError(t, err)
		lh, err := leader.History("r", "a", 0, 0, ReadOptions{})
		require.NoError(t, err)
		require.Len(t, h, len(lh))
		for i := range h {
			require.Equal(t, lh[i].Version, h[i].Version, "the same versions on every node")
			require.True(t, lh[i].Value.Equal(h[i].Value))
		}
	}
}

// Update validates what it read when its command applies.
func TestClusterUpdate(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.leader()
	_, err := leader.Put("r", "x", kv.Int(1))
	require.NoError(t, err)
	v, err := leader.Update(func(tx *Txn) error {
		got, _, err := tx.Get("r", "x")
		if err != nil {
			return err
		}
		i, _ := got.Value.AsInt()
		return tx.Put("r", "y", kv.Int(i+1))
	})
	require.NoError(t, err)
	require.NotZero(t, v)
	_, err = leader.Update(func(tx *Txn) error {
		if _, _, err := tx.Get("r", "x"); err != nil {
			return err
		}
		if _, err := leader.Put("r", "x", kv.Int(7)); err != nil { // a commit in between
			return err
		}
		return tx.Put("r", "z", kv.Int(1))
	})
	require.ErrorIs(t, err, kv.ErrConflict)
	_, err = leader.Update(func(tx *Txn) error {
		if _, err := tx.Keys("r", "q"); err != nil {
			return err
		}
		if _, err := leader.Put("r", "q1", kv.Int(7)); err != nil { // a phantom
			return err
		}
		return tx.Put("r", "z", kv.Int(1))
	})
	require.ErrorIs(t, err, kv.ErrConflict)
	_, ok, err := leader.Get("r", "z", ReadOptions{})
	require.NoError(t, err)
	require.False(t, ok, "nothing written by a conflicting Update")
}

// A node restarted replays raft's log over its database without applying
// anything twice; a stopped follower catches up from the log, or from a
// snapshot once the log is trimmed.
func TestClusterRestartAndSnapshot(t *testing.T) {
	c := newCluster(t, 3, func(rc *raft.Config) {
		rc.SnapshotThreshold = 50
		rc.TrailingLogs = 10
		rc.SnapshotInterval = 50 * time.Millisecond
	})
	n := c.counter("r", "n")
	incr := n.incr
	incr(20)
	// A follower stops; the others go on past the log it would need.
	f := 1
	if c.nodes[f].IsLeader() {
		f = 2
	}
	c.stop(f)
	incr(200)
	for _, nd := range c.nodes {
		if nd != nil {
			require.NoError(t, nd.Snapshot())
		}
	}
	c.restart(f)
	last, err := c.leader().LastVersion(ReadOptions{})
	require.NoError(t, err)
	c.caughtUp(last)
	got, _, err := c.nodes[f].Get("r", "n", ReadOptions{Stale: true})
	require.NoError(t, err)
	n.check()
	require.True(t, kv.Int(n.want).Equal(got.Value), "got %v, want %d", got.Value, n.want)
	// Restore counts a snapshot after swapping its database in, so a read
	// may see the data a moment before the count.
	eventually(t, "the follower's restore counted", func() bool { return c.nodes[f].restores.Load() > 0 })
	require.EqualValues(t, 1, c.nodes[f].restores.Load(), "the follower caught up from a snapshot")

	// Every node restarts, the leader too: nothing is applied twice.
	for i := range c.nodes {
		c.stop(i)
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
	}
}

// A follower cut off from the others misses writes, and gets them when
// the partition heals.
func TestClusterPartition(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.leader()
	f := 0
	for c.nodes[f] == leader {
		f++
	}
	c.part.Isolate(c.addrs[f])
	for i := range 20 {
		c.put("r", fmt.Sprintf("k%d", i), kv.Int(int64(i)))
	}
	_, err := c.nodes[f].Put("r", "lost", kv.Int(1))
	require.Error(t, err, "an isolated node cannot write")
	c.part.Heal()
	last, err := c.leader().LastVersion(ReadOptions{})
	require.NoError(t, err)
	c.caughtUp(last)
	p, err := c.nodes[f].Scan("r", "", 0, "", ReadOptions{Stale: true})
	require.NoError(t, err)
	require.Len(t, p.Entries, 20)
}
