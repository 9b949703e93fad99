package replica

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// failSink fails every write.
type failSink struct{ cancelled bool }

func (s *failSink) Write([]byte) (int, error) { return 0, errors.New("disk full (test)") }
func (s *failSink) ID() string                { return "fail" }
func (s *failSink) Cancel() error             { s.cancelled = true; return nil }
func (s *failSink) Close() error              { return nil }

// Review 56 (held): with Checkpoint now refusing a dir it did not make,
// snapshots still work again and again: a Persist that fails cancels
// its sink, Release removes its checkpoint, and the next Snapshot (a new
// snapshot-* dir each time) persists a stream that restores.
func TestReview56SnapshotAfterAFailedPersist(t *testing.T) {
	dir := t.TempDir()
	nd, err := Open(Config{ID: "n1", Dir: dir, RaftAddr: "127.0.0.1:0", Bootstrap: true, Tune: fastRaft, Secret: testSecret})
	require.NoError(t, err)
	defer nd.Close()
	eventually(t, "a leader", nd.IsLeader)
	_, err = nd.Put("r", "k", kv.Int(7))
	require.NoError(t, err)
	_, err = nd.LastVersion(ReadOptions{}) // raft's FSM goroutine idle from here
	require.NoError(t, err)

	left := func() []string { m, _ := filepath.Glob(filepath.Join(dir, snapshotPrefix+"*")); return m }
	for range 2 {
		s, err := nd.fsm.Snapshot()
		require.NoError(t, err)
		fs := &failSink{}
		require.Error(t, s.Persist(fs))
		require.True(t, fs.cancelled)
		s.Release()
		require.Empty(t, left())
	}
	s, err := nd.fsm.Snapshot()
	require.NoError(t, err)
	var sink bufSink
	require.NoError(t, s.Persist(&sink))
	s.Release()
	require.Empty(t, left())
	require.NoError(t, nd.fsm.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))))
	v, ok, err := nd.Get("r", "k", ReadOptions{Stale: true})
	require.NoError(t, err)
	require.True(t, ok && kv.Int(7).Equal(v.Value))
}
