package replica

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// A second Open of a node's directory fails while the first holds it,
// touching nothing; bad IDs are refused.
func TestNodeDirLocked(t *testing.T) {
	dir := t.TempDir()
	n, err := Open(Config{ID: "n1", Dir: dir, RaftAddr: "127.0.0.1:0", Bootstrap: true, Tune: fastRaft, Secret: testSecret})
	require.NoError(t, err)
	_, err = Open(Config{ID: "n1", Dir: dir, RaftAddr: "127.0.0.1:0", Tune: fastRaft, Secret: testSecret})
	require.ErrorIs(t, err, kv.ErrLocked)
	require.NoError(t, n.Close())
	n, err = Open(Config{ID: "n1", Dir: dir, RaftAddr: "127.0.0.1:0", Tune: fastRaft, Secret: testSecret})
	require.NoError(t, err, "open again once closed")
	require.NoError(t, n.Close())
	for _, id := range []string{"", "a b", "n/1", string(make([]byte, 65))} {
		_, err = Open(Config{ID: id, Dir: t.TempDir()})
		require.Error(t, err, "ID %q", id)
	}
}
