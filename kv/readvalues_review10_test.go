package kv

import (
	"errors"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/segment"
)

// Review 10: readValuesInto names the record it was reading when a fault
// stops it (its at closure: recs[cur]), but its third loop, which
// touches every cache line of every value, does not set cur: a fault
// there names whatever cur the loop before left, now the last record
// (before this commit, cur was still 0 there). A Scan over two keys whose
// first value is cut by its file shrinking under the mapping (its first
// cache lines, which the first two loops read, are intact) reports the
// second key's segment and offset, and collect, which finds the key by
// that offset, names the wrong key.
func TestReview10ScanFaultNamesTheValueCut(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 64 << 10, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	ps := int64(os.Getpagesize())
	big := make([]byte, 4*ps) // incompressible: stored as is, over several pages
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	mustPut(t, db, "r", "a", Bytes(big))
	rollNow(t, db)
	mustPut(t, db, "r", "b", String("small"))
	rollNow(t, db)

	tbl := db.segs.Load()
	ra, rb := review8Rec(t, db, "a"), review8Rec(t, db, "b")
	require.NotEqual(t, ra.Segment, rb.Segment)
	sa := tbl.sealed[ra.Segment]
	require.NotNil(t, sa)
	stored, err := sa.Value(ra.Field)
	require.NoError(t, err)
	// Cut a's file at a page boundary well inside its value, past the
	// two cache lines the reads touch before they know the length.
	cut := (ra.Field + ps + ps - 1) / ps * ps
	require.Less(t, cut, ra.Field+int64(len(stored)))
	require.NoError(t, os.Truncate(sa.Path(), cut))

	_, err = db.Scan("r", "", 10, "")
	require.ErrorIs(t, err, ErrCorrupt)
	require.Contains(t, err.Error(), "shrank under its mapping")
	var ce *segment.CorruptError
	require.True(t, errors.As(err, &ce))
	t.Logf("error: %v", err)
	require.Equal(t, sa.Path(), ce.File, "the file of the value cut")
	require.Equal(t, ra.Field, ce.Offset, "the field of the value cut")
	require.Contains(t, err.Error(), `key "a":`, "the key whose value is cut")
}
