package kv

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// A deletion that compaction dropped (a tombstone whose older versions
// are all gone) is a version above after that Changes cannot return: it
// must say ErrHistoryTrimmed, not silently leave the deletion out.
func TestReview2ChangesDroppedTombstone(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 2 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	v1 := mustPut(t, db, "r", "k", Int(1))
	ok, err := db.Delete("r", "k")
	require.NoError(t, err)
	require.True(t, ok)
	vdel := db.LastVersion()
	require.Equal(t, v1+1, vdel)
	// Fill (keys written once: nothing more to drop) so the segment seals.
	for i := range 100 {
		mustPut(t, db, "fill", fmt.Sprintf("f%03d", i), String(fmt.Sprintf("%0100d", i)))
	}
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.Positive(t, st.VersionsDropped)
	h, err := db.History("r", "k", 0, 0)
	require.NoError(t, err)
	require.Empty(t, h, "the tombstone and the put were dropped")

	cs, err := db.Changes("r", "", v1, 0)
	if err == nil {
		t.Fatalf("Changes(r, after=%d) = %v, nil: the deletion at version %d was dropped by retention, want ErrHistoryTrimmed", v1, cs, vdel)
	}
	require.ErrorIs(t, err, ErrHistoryTrimmed)
}

// Diff from version 0 (the empty database) to a version below the trim
// horizon cannot be answered: ErrHistoryTrimmed, not a wrong (empty)
// diff.
func TestReview2DiffFromZeroBelowHorizon(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 2 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	v1 := mustPut(t, db, "r", "k", Int(1))
	mustPut(t, db, "r", "k", Int(2))
	mustPut(t, db, "r", "k", Int(3))
	for i := range 100 {
		mustPut(t, db, "fill", fmt.Sprintf("f%03d", i), String(fmt.Sprintf("%0100d", i)))
	}
	_, err := db.Compact(t.Context())
	require.NoError(t, err)
	_, err = db.GetAt("r", "k", v1)
	require.ErrorIs(t, err, ErrHistoryTrimmed, "version 1 was dropped")

	d, err := db.Diff("r", 0, v1)
	if err == nil {
		t.Fatalf("Diff(r, 0, %d) = %v, nil: k's value at %d was dropped (GetAt says ErrHistoryTrimmed), want ErrHistoryTrimmed", v1, d, v1)
	}
	require.ErrorIs(t, err, ErrHistoryTrimmed)
}

// Nothing above after was dropped (only version 1 of k, which a later
// write replaced): Changes after 1 must return versions 2.. in full,
// not ErrHistoryTrimmed.
func TestReview2ChangesHorizonTooStrict(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 2 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	v1 := mustPut(t, db, "r", "k", Int(1))
	for i := range 60 {
		mustPut(t, db, "r", fmt.Sprintf("u%03d", i), String(fmt.Sprintf("%0100d", i))) // written once: kept
	}
	mustPut(t, db, "r", "k", Int(2))
	for i := range 40 {
		mustPut(t, db, "fill", fmt.Sprintf("f%03d", i), String(fmt.Sprintf("%0100d", i)))
	}
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 1, st.VersionsDropped, "only k@1")
	cs, err := db.Changes("r", "", v1, 1000)
	require.NoError(t, err, "only version %d was dropped; every version above it is kept", v1)
	require.Len(t, cs, 61)
}
