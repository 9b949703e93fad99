package kv

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/segment"
)

// GetAt of a key the index does not hold, below the trim horizon: the key
// was absent then (ErrNotFound, as API.md asks) unless compaction removed
// a key whole (its deletion too) whose deletion was above at, in which
// case the key may be that one (ErrHistoryTrimmed). The same answers
// after a reopen, which reads the bound from the manifest.
func TestGetAtAbsentKeyBelowHorizon(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{Retention: Retention{KeepVersions: 1}, CompactAt: -1}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	a1 := mustPut(t, db, "r", "a", Int(1))
	mustPut(t, db, "r", "a", Int(2))
	late := mustPut(t, db, "r", "late", Int(3)) // a key born after a1
	_, err = db.Compact(context.Background())
	require.NoError(t, err)

	check := func(db *DB, when string) {
		t.Helper()
		_, err := db.GetAt("r", "a", a1)
		require.ErrorIs(t, err, ErrHistoryTrimmed, "%s: a1 was dropped", when)
		_, err = db.GetAt("r", "never", a1)
		require.ErrorIs(t, err, ErrNotFound, "%s: a key never written was absent at a1", when)
		_, err = db.GetAt("other", "a", a1)
		require.ErrorIs(t, err, ErrNotFound, "%s: nor was it in another run", when)
		got, err := db.GetAt("r", "late", late)
		require.NoError(t, err, when)
		require.Equal(t, late, got.Version, when)
	}
	check(db, "before a reopen")
	require.NoError(t, db.Close())
	db, err = Open(dir, opts)
	require.NoError(t, err)
	check(db, "after a reopen")

	// A key removed whole: its deletion d dropped with its versions. At
	// versions below d the key may be that one: ErrHistoryTrimmed for
	// every absent key; at d and above, every absent key was absent.
	g1 := mustPut(t, db, "r", "gone", Int(1))
	_, err = db.Delete("r", "gone")
	require.NoError(t, err)
	d := db.LastVersion()
	after := mustPut(t, db, "r", "b", Int(1))
	_, err = db.Compact(context.Background())
	require.NoError(t, err)
	check2 := func(db *DB, when string) {
		t.Helper()
		for _, key := range []string{"gone", "never"} {
			_, err := db.GetAt("r", key, g1)
			require.ErrorIs(t, err, ErrHistoryTrimmed, "%s: %s at %d, below the deletion removed whole", when, key, g1)
			_, err = db.GetAt("r", key, d)
			require.ErrorIs(t, err, ErrNotFound, "%s: %s at the deletion", when, key)
			_, err = db.GetAt("r", key, after)
			require.ErrorIs(t, err, ErrNotFound, "%s: %s above it", when, key)
		}
	}
	check2(db, "before a reopen")
	require.NoError(t, db.Close())
	db, err = Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	check2(db, "after a reopen")
}

// A directory whose manifest an older build wrote (format version 1, no
// vanished gap) keeps the rule reads had then: below the trim horizon a
// key found nowhere may be one compaction removed whole.
func TestGetAtAbsentKeyVersion1Manifest(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{Retention: Retention{KeepVersions: 1}, CompactAt: -1}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	a1 := mustPut(t, db, "r", "a", Int(1))
	mustPut(t, db, "r", "a", Int(2))
	_, err = db.Compact(context.Background())
	require.NoError(t, err)
	require.NoError(t, db.Close())

	path := filepath.Join(dir, segment.ManifestName)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.EqualValues(t, 2, binary.LittleEndian.Uint32(b[8:]))
	require.NotZero(t, binary.LittleEndian.Uint32(b[28:]), "nothing removed whole: vanished 0, a gap of trimmed")
	binary.LittleEndian.PutUint32(b[8:], 1)
	binary.LittleEndian.PutUint32(b[28:], 0)
	binary.LittleEndian.PutUint64(b[len(b)-8:], xxhash.Sum64(b[:len(b)-8]))
	require.NoError(t, os.WriteFile(path, b, 0o644))

	db, err = Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.GetAt("r", "never", a1)
	require.ErrorIs(t, err, ErrHistoryTrimmed, "a version 1 manifest says nothing of keys removed whole")
	_, err = db.GetAt("r", "never", db.LastVersion())
	require.ErrorIs(t, err, ErrNotFound)
}
