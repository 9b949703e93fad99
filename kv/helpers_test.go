package kv

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// openT opens a database in a fresh temporary directory (or in memory)
// and closes it when the test ends.
func openT(t testing.TB, opts *Options) *DB {
	t.Helper()
	dir := ""
	if opts == nil || opts.Durability != InMemory {
		dir = t.TempDir()
	}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// openMem opens a database on an in-memory FS at /db.
func openMem(t testing.TB, fs vfs.FS, opts Options, setup ...func(*DB)) (*DB, error) {
	t.Helper()
	o, err := opts.normalize()
	require.NoError(t, err)
	return openFS(fs, "/db", o, setup...)
}

func mustPut(t testing.TB, db *DB, run RunID, key string, v Value) Version {
	t.Helper()
	ver, err := db.Put(run, key, v)
	require.NoError(t, err)
	require.NotZero(t, ver)
	return ver
}

func mustGet(t testing.TB, db *DB, run RunID, key string) Versioned {
	t.Helper()
	v, ok, err := db.Get(run, key)
	require.NoError(t, err)
	require.True(t, ok, "key %q absent", key)
	return v
}

func absent(t testing.TB, db *DB, run RunID, key string) {
	t.Helper()
	_, ok, err := db.Get(run, key)
	require.NoError(t, err)
	require.False(t, ok, "key %q present", key)
}

// modes lists the durability modes with the options tests use for them.
var modes = map[string]Options{
	"buffered": {Durability: Buffered},
	"strict":   {Durability: Strict},
	"inmemory": {Durability: InMemory},
}
