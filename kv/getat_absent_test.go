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

// trimmedOnce opens a store in a new directory that keeps one version a
// key, writes "a" twice (the first at a1) and then "late" (at late, a key
// born after a1), and compacts, which drops a1.
func trimmedOnce(t *testing.T) (dir string, opts *Options, db *DB, a1, late Version) {
	t.Helper()
	dir = t.TempDir()
	opts = &Options{Retention: Retention{KeepVersions: 1}, CompactAt: -1}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	a1 = mustPut(t, db, "r", "a", Int(1))
	mustPut(t, db, "r", "a", Int(2))
	late = mustPut(t, db, "r", "late", Int(3))
	_, err = db.Compact(context.Background())
	require.NoError(t, err)
	return dir, opts, db, a1, late
}

// GetAt of a key the index does not hold, below the trim horizon: the key
// was absent then (ErrNotFound, as API.md asks) unless compaction removed
// a key whole (its deletion too) whose deletion was above at, in which
// case the key may be that one (ErrHistoryTrimmed). The same answers
// after a reopen, which reads the bound from the manifest.
func TestGetAtAbsentKeyBelowHorizon(t *testing.T) {
	dir, opts, db, a1, late := trimmedOnce(t)
	var err error

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
	// versions below d it was there: ErrHistoryTrimmed; at d and above
	// it was absent. Another key found nowhere is absent at every
	// version while the process that dropped "gone" knows what it
	// dropped; after a reopen, only that some key removed whole had its
	// deletion at d is known, and below d it may be that key.
	g1 := mustPut(t, db, "r", "gone", Int(1))
	_, err = db.Delete("r", "gone")
	require.NoError(t, err)
	d := db.LastVersion()
	after := mustPut(t, db, "r", "b", Int(1))
	_, err = db.Compact(context.Background())
	require.NoError(t, err)
	check2 := func(db *DB, when string, neverBelow error) {
		t.Helper()
		for key, below := range map[string]error{"gone": ErrHistoryTrimmed, "never": neverBelow} {
			_, err := db.GetAt("r", key, g1)
			require.ErrorIs(t, err, below, "%s: %s at %d, below the deletion removed whole", when, key, g1)
			_, err = db.GetAt("r", key, d)
			require.ErrorIs(t, err, ErrNotFound, "%s: %s at the deletion", when, key)
			_, err = db.GetAt("r", key, after)
			require.ErrorIs(t, err, ErrNotFound, "%s: %s above it", when, key)
		}
	}
	check2(db, "before a reopen", ErrNotFound)
	require.NoError(t, db.Close())
	db, err = Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	check2(db, "after a reopen", ErrHistoryTrimmed)
}

// A key created after at, while compaction trims other keys: absent at
// at (ErrNotFound) in the process that compacted, which knows which keys
// lost versions; after a reopen, below the horizon Open found, it may
// have lost some (ErrHistoryTrimmed). A key that lost versions says
// ErrHistoryTrimmed below the horizon either way.
func TestGetAtKeyCreatedAfterAt(t *testing.T) {
	dir, opts, db, a1, late := trimmedOnce(t)
	var err error
	_, err = db.GetAt("r", "late", a1)
	require.ErrorIs(t, err, ErrNotFound, "late was not written at a1, and lost nothing")
	_, err = db.GetAt("r", "a", a1)
	require.ErrorIs(t, err, ErrHistoryTrimmed)
	got, err := db.GetAt("r", "late", late)
	require.NoError(t, err)
	require.Equal(t, late, got.Version)

	// Written again after the compaction: still exact in this process.
	mustPut(t, db, "r", "late", Int(4))
	_, err = db.GetAt("r", "late", a1)
	require.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, db.Close())

	db, err = Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.GetAt("r", "late", a1)
	require.ErrorIs(t, err, ErrHistoryTrimmed, "after a reopen, below the horizon: it may have lost versions")
	_, err = db.GetAt("r", "a", a1)
	require.ErrorIs(t, err, ErrHistoryTrimmed)
	got, err = db.GetAt("r", "late", late)
	require.NoError(t, err)
	require.Equal(t, late, got.Version)
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
