package replica

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// Review 56. A process killed while raft writes a snapshot (Persist of
// the node's own, or a snapshot a lagging follower receives from its
// leader: raft's installSnapshot streams it into a sink) leaves raft's
// temporary snapshot directory raft/snapshots/<id>.tmp, holding a partial
// tar of the whole database. hashicorp/raft's FileSnapshotStore skips
// such directories ("found temporary snapshot") and never removes them,
// and Open's settleDirs removes the node's own crash leftovers
// (strata.old, strata.restore, strata.failed, snapshot-*: review 46
// counted a leaked snapshot-* as a defect for the same reason) but not
// these: each crash during a snapshot's write leaks up to a database's
// size on disk for good. Here a sink left neither closed nor cancelled
// stands in for the kill.
func TestReview56OpenRemovesARaftSnapshotLeftByACrash(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{ID: "n1", Dir: dir, RaftAddr: "127.0.0.1:0", Bootstrap: true, Tune: fastRaft, Secret: testSecret}
	nd, err := Open(cfg)
	require.NoError(t, err)
	eventually(t, "a leader", nd.IsLeader)
	_, err = nd.Put("r", "k", kv.Int(1))
	require.NoError(t, err)
	addr := nd.RaftAddr()
	require.NoError(t, nd.Close())

	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(dir, raftDir), 2, hclog.NewNullLogger())
	require.NoError(t, err)
	_, trans := raft.NewInmemTransport("")
	conf := raft.Configuration{Servers: []raft.Server{{ID: "n1", Address: raft.ServerAddress(addr)}}}
	sink, err := snaps.Create(raft.SnapshotVersionMax, 100, 3, conf, 1, trans)
	require.NoError(t, err)
	_, err = sink.Write(bytes.Repeat([]byte{1}, 1<<20)) // the process dies here
	require.NoError(t, err)

	nd, err = Open(cfg)
	require.NoError(t, err)
	defer nd.Close()
	left, err := filepath.Glob(filepath.Join(dir, raftDir, "snapshots", "*.tmp"))
	require.NoError(t, err)
	require.Empty(t, left, "Open left a partial raft snapshot behind (never removed, by raft or the node): %v", left)
}
