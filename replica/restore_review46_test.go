package replica

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// Review 46 found this defect (the text below says what it was); fixed
// since, and this test keeps it fixed.
//
// On start, a node whose database is older than its latest snapshot
// restores the snapshot inside raft.NewRaft (node.go:257). If the
// restore fails in swapIn (here the snapshot's database does not open;
// a full disk or too many open files do the same), fsm.Restore calls
// n.fail (fsm.go:149), which calls n.stopRaft, which calls
// n.raft.Shutdown() while n.raft is still nil (NewRaft has not
// returned): Open panics with a nil pointer dereference instead of
// returning an error. And swapIn (node.go:434-457; RemoveAll at 449, openDB at 452) has by then already
// removed the node's own database (RemoveAll(strata.old) before openDB
// of the new one), so the data is gone and every later Open fails too.
// Open must return an error and keep the database it had.
func TestReview46FailedRestoreOnStartKeepsTheDatabase(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{ID: "n1", Dir: dir, RaftAddr: "127.0.0.1:0", Bootstrap: true, Tune: fastRaft, Secret: testSecret}
	nd, err := Open(cfg)
	require.NoError(t, err)
	eventually(t, "a leader", nd.IsLeader)
	_, err = nd.Put("r", "k", kv.String("precious"))
	require.NoError(t, err)
	addr := nd.RaftAddr()
	require.NoError(t, nd.Close())

	// A snapshot newer than the database (header applied 1000) whose
	// database does not open (a damaged MANIFEST).
	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(dir, raftDir), 2, hclog.NewNullLogger())
	require.NoError(t, err)
	_, trans := raft.NewInmemTransport("")
	conf := raft.Configuration{Servers: []raft.Server{{ID: "n1", Address: raft.ServerAddress(addr)}}}
	sink, err := snaps.Create(raft.SnapshotVersionMax, 1000, 5, conf, 1, trans)
	require.NoError(t, err)
	hd, _ := json.Marshal(snapshotHeader{Applied: 1000, Version: 500})
	var b bytes.Buffer
	b.Write(append(hd, '\n'))
	tw := tar.NewWriter(&b)
	junk := bytes.Repeat([]byte{0xAB}, 64)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "MANIFEST", Mode: 0o644, Size: int64(len(junk)), Typeflag: tar.TypeReg}))
	tw.Write(junk)
	require.NoError(t, tw.Close())
	_, err = sink.Write(b.Bytes())
	require.NoError(t, err)
	require.NoError(t, sink.Close())

	var panicked any
	func() {
		defer func() { panicked = recover() }()
		nd, err = Open(cfg)
	}()
	if panicked == nil && err == nil {
		nd.Close()
	}
	db, oerr := kv.Open(filepath.Join(dir, dbDir), nil)
	kept := false
	if oerr == nil {
		v, ok, _ := db.Get("r", "k")
		kept = ok && kv.String("precious").Equal(v.Value)
		db.Close()
	}
	require.True(t, panicked == nil && err != nil && kept,
		"Open panicked: %v; Open's error: %v; the node's database kept: %v (opening %s now: %v)", panicked, err, kept, dbDir, fmt.Sprint(oerr))
}
