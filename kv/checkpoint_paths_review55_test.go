package kv

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Checkpoint paths on the OS: parent a file, existing empty dir, relative
// path, new nested dir; Open of a new dir whose parents are missing.
func TestReview55CheckpointPaths(t *testing.T) {
	base := t.TempDir()
	db, err := Open(filepath.Join(base, "x", "y", "db"), &Options{Durability: Strict})
	require.NoError(t, err, "parents missing")
	defer db.Close()
	for i := range 50 {
		_, err := db.Put("r", "k", Int(int64(i)))
		require.NoError(t, err)
	}
	file := filepath.Join(base, "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	_, err = db.Checkpoint(filepath.Join(file, "cp"))
	require.Error(t, err)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "x", string(b))
	_, err = db.Checkpoint(file)
	require.Error(t, err)

	empty := filepath.Join(base, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	_, err = db.Checkpoint(empty)
	require.True(t, errors.Is(err, fs.ErrExist), "%v", err)
	_, err = os.Stat(empty)
	require.NoError(t, err, "an existing dir stays")

	t.Chdir(base)
	v, err := db.Checkpoint(filepath.Join("rel", "a", "cp"))
	require.NoError(t, err)
	cdb, err := Open(filepath.Join(base, "rel", "a", "cp"), &Options{ReadOnly: true})
	require.NoError(t, err)
	require.Equal(t, v, cdb.LastVersion())
	require.NoError(t, cdb.Close())
	ents, _ := os.ReadDir(filepath.Join(base, "rel", "a", "cp"))
	for _, e := range ents {
		require.NotContains(t, e.Name(), ".tmp")
	}
	v2, err := db.Checkpoint("cp2/")
	require.NoError(t, err)
	cdb, err = Open("cp2", nil)
	require.NoError(t, err)
	require.Equal(t, v2, cdb.LastVersion())
	require.NoError(t, cdb.Close())
}
