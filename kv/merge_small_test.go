package kv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// openCloses opens dir n times with segments of size, each time writing
// keys k<i>-<j> (and a new version of "shared"), then closing: each Open
// starts a segment of its own, so n small segments pile up (background
// compaction is off, so no look merges them meanwhile).
func openCloses(t *testing.T, dir string, size int64, n, keys int) {
	t.Helper()
	for i := range n {
		db, err := Open(dir, &Options{SegmentSize: size, CompactAt: -1})
		require.NoError(t, err)
		for j := range keys {
			mustPut(t, db, "r", fmt.Sprintf("k%03d-%02d", i, j), Int(int64(i*100+j)))
		}
		mustPut(t, db, "r", "shared", Int(int64(i)))
		require.NoError(t, db.Close())
	}
}

// requireMergedData checks every key openCloses(n, keys) wrote and the
// history of "shared".
func requireMergedData(t *testing.T, db *DB, n, keys int) {
	t.Helper()
	for i := range n {
		for j := range keys {
			v, ok, err := db.Get("r", fmt.Sprintf("k%03d-%02d", i, j))
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, Int(int64(i*100+j)), v.Value)
		}
	}
	h, err := db.History("r", "shared", 0, 0)
	require.NoError(t, err)
	require.Len(t, h, n)
	for i, v := range h {
		require.Equal(t, Int(int64(n-1-i)), v.Value)
	}
}

// A database opened for a few writes at a time leaves a small segment
// per Open; the background goroutine's look merges runs of mergeMin or
// more of them (with Retention keeping everything: nothing is dead),
// and what they held reads the same, before and after a reopen.
func TestBackgroundMergesSmallSegments(t *testing.T) {
	dir := t.TempDir()
	o := &Options{SegmentSize: 1 << 20}
	n, keys := mergeMin+4, 10
	openCloses(t, dir, o.SegmentSize, n, keys)
	db, err := Open(dir, o)
	require.NoError(t, err)
	holdBackground(db) // may follow Open's own look: counted below
	before := n        // a segment per Open
	db.backgroundPass()
	after := len(db.segs.Load().sealed)
	t.Logf("sealed segments: %d before the look, %d after", before, after)
	require.LessOrEqual(t, after, 2, "the small segments merged")
	requireMergedData(t, db, n, keys)
	<-db.compact.sem
	require.NoError(t, db.Close())

	db, err = Open(dir, o)
	require.NoError(t, err)
	defer db.Close()
	require.LessOrEqual(t, len(db.segs.Load().sealed), 3, "after a reopen")
	requireMergedData(t, db, n, keys)
}

// Fewer than mergeMin small segments in a row are left alone, and so is
// a segment of a quarter of SegmentSize or more.
func TestSmallSegmentsBelowMergeMinAreLeft(t *testing.T) {
	dir := t.TempDir()
	o := &Options{SegmentSize: 1 << 20}
	openCloses(t, dir, o.SegmentSize, mergeMin-2, 5)
	db, err := Open(dir, o)
	require.NoError(t, err)
	holdBackground(db)
	before := len(db.segs.Load().sealed)
	require.Less(t, before, mergeMin)
	db.backgroundPass()
	require.Equal(t, before, len(db.segs.Load().sealed), "fewer than mergeMin: left")
	<-db.compact.sem
	require.NoError(t, db.Close())

	// A big segment between small ones splits the run: neither side
	// reaches mergeMin.
	dir = t.TempDir()
	openCloses(t, dir, o.SegmentSize, mergeMin-1, 5)
	db, err = Open(dir, o)
	require.NoError(t, err)
	big := make([]byte, 300<<10) // incompressible: over a quarter of SegmentSize
	r := rand.New(rand.NewPCG(8, 8))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	mustPut(t, db, "r", "big", Bytes(big))
	require.NoError(t, db.Close())
	openCloses(t, dir, o.SegmentSize, mergeMin-1, 5)
	db, err = Open(dir, o)
	require.NoError(t, err)
	defer db.Close()
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	before = len(db.segs.Load().sealed)
	db.backgroundPass()
	require.Equal(t, before, len(db.segs.Load().sealed), "runs split by a big segment: left")
}

// An explicit Compact merges small segments too, with Retention keeping
// everything and background compaction off, and says so in its stats.
func TestCompactMergesSmallSegments(t *testing.T) {
	dir := t.TempDir()
	o := &Options{SegmentSize: 1 << 20}
	n, keys := mergeMin+2, 5
	openCloses(t, dir, o.SegmentSize, n, keys)
	db, err := Open(dir, &Options{SegmentSize: o.SegmentSize, CompactAt: -1}) // no look first
	require.NoError(t, err)
	defer db.Close()
	before := len(db.segs.Load().sealed)
	st, err := db.Compact(context.Background())
	require.NoError(t, err)
	t.Logf("%+v", st)
	require.GreaterOrEqual(t, st.SegmentsIn, mergeMin)
	require.Less(t, st.SegmentsOut, st.SegmentsIn)
	require.Zero(t, st.VersionsDropped)
	require.GreaterOrEqual(t, st.BytesReclaimed, int64(0))
	require.Less(t, len(db.segs.Load().sealed), before)
	requireMergedData(t, db, n, keys)
}

// memOpenCloses opens the memory file system mem n times with opts, each
// time writing key k<i> and closing: n small segments.
func memOpenCloses(t *testing.T, mem vfs.FS, opts Options, n int) {
	t.Helper()
	for i := range n {
		db, err := openMem(t, mem, opts)
		require.NoError(t, err)
		mustPut(t, db, "r", fmt.Sprintf("k%02d", i), Int(int64(i)))
		require.NoError(t, db.Close())
	}
}

// commitCloses opens dir with the defaults (background compaction on)
// opens times, each time making commits commits and closing, as a
// process per request would.
func commitCloses(t *testing.T, dir string, opens, commits int) {
	t.Helper()
	for i := range opens {
		db, err := Open(dir, nil)
		require.NoError(t, err)
		for j := range commits {
			mustPut(t, db, "r", fmt.Sprintf("k%03d-%02d", i, j), Int(int64(j)))
		}
		require.NoError(t, db.Close())
	}
}
