package kv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/segment"
)

// review11Layout opens a database whose first segment holds, in run "r",
// key "a" (a small value) whose field lies between 64 and 511 bytes
// before a page boundary cut, and after it (run "f" or, with bInScan,
// key "b" of run "r") a value of several pages that crosses cut. Key
// "c" of run "r" is in the next segment. A Scan of run "g", whose first
// value is 600 bytes, leaves DB.fieldGuess at its cap (512).
func review11Layout(t *testing.T, bInScan bool) (db *DB, cut int64, sa *segment.Sealed) {
	t.Helper()
	db, err := Open(t.TempDir(), &Options{SegmentSize: 256 << 10, CompactAt: -1})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ps := int64(os.Getpagesize())
	rng := rand.New(rand.NewPCG(11, 12))
	random := func(n int) []byte { // incompressible: stored as is
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	// Fillers (another run) until the end of the frames lies 250 to 400
	// bytes before a page boundary.
	w := db.segs.Load().active
	for i := 0; ; i++ {
		if m := w.Size() % ps; m >= ps-400 && m <= ps-250 {
			break
		}
		mustPut(t, db, "f", fmt.Sprintf("x%04d", i), Bytes(random(40)))
	}
	mustPut(t, db, "r", "a", String("value of a"))
	ra := review8Rec(t, db, "a")
	cut = (ra.Field/ps + 1) * ps
	// a's field (1 byte of length, 10 of value) ends before the cut, more
	// than the 64 bytes Sealed.Value touches, less than the 512 the guess
	// touches.
	require.Less(t, ra.Field+11, cut)
	require.Greater(t, cut-ra.Field, int64(64+11))
	require.Less(t, cut-ra.Field, int64(511))
	if bInScan {
		mustPut(t, db, "r", "b", Bytes(random(int(4*ps))))
	} else {
		mustPut(t, db, "f", "y", Bytes(random(int(4*ps))))
	}
	rollNow(t, db)
	mustPut(t, db, "r", "c", String("value of c"))
	rollNow(t, db)

	// A read of many values whose longest field is past the cap.
	mustPut(t, db, "g", "g1", Bytes(random(600)))
	mustPut(t, db, "g", "g2", String("g2"))
	_, err = db.Scan("g", "", 10, "")
	require.NoError(t, err)
	require.EqualValues(t, maxFieldGuess, db.fieldGuess.Load())

	sa = db.segs.Load().sealed[ra.Segment]
	require.NotNil(t, sa)
	require.Greater(t, int64(len(sa.Bytes())), cut+ps, "the file goes on past the cut")
	// The file loses its pages from cut on while mapped (damage from
	// outside: another process, a file system gone wrong).
	require.NoError(t, os.Truncate(sa.Path(), cut))
	return db, cut, sa
}

// Review 11: readValuesInto touches each field's lines up to fieldGuess
// (up to 512 bytes) before it knows the field's length, so it reads up
// to 500 bytes past a small value's end, bytes of other entries. When
// those bytes are in a page the file lost, the fault is reported as
// damage of the small value, whose bytes are all intact: Get reads it,
// a Scan over it fails, naming it ("shrank under its mapping").
func TestReview11ScanFaultPastAnIntactValue(t *testing.T) {
	db, _, _ := review11Layout(t, false)
	v, ok, err := db.Get("r", "a")
	require.NoError(t, err, "a's bytes are all before the cut")
	require.True(t, ok)
	require.Equal(t, String("value of a"), v.Value)

	page, err := db.Scan("r", "", 10, "")
	require.NoError(t, err, "the values of a and c are intact: the Scan should read them")
	require.Len(t, page.Entries, 2)
	require.Equal(t, String("value of a"), page.Entries[0].Value)
	h, err := db.History("r", "a", 10, 0)
	require.NoError(t, err, "History of a")
	require.Len(t, h, 1)
}

// Review 11: the same read past a small value's end, when the bytes past
// it that the file lost are the next value's of the same read: the Scan
// must fail (b is cut), but it names a, whose value is intact, with a's
// offset, instead of b.
func TestReview11ScanFaultNamesTheValueCutNotItsNeighbour(t *testing.T) {
	db, cut, sa := review11Layout(t, true)
	ra, rb := review8Rec(t, db, "a"), review8Rec(t, db, "b")
	require.Equal(t, ra.Segment, rb.Segment)
	require.Less(t, rb.Field, cut, "b's field starts before the cut...")
	stored, err := db.segs.Load().sealed[rb.Segment].Value(rb.Field)
	require.NoError(t, err)
	require.Greater(t, rb.Field+int64(len(stored)), cut, "...and its value runs past it")

	_, err = db.Scan("r", "", 10, "")
	require.ErrorIs(t, err, ErrCorrupt)
	require.Contains(t, err.Error(), "shrank under its mapping")
	t.Logf("error: %v", err)
	var ce *segment.CorruptError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, sa.Path(), ce.File)
	require.Equal(t, rb.Field, ce.Offset, "the field of the value cut (b's), not a's at %d", ra.Field)
	require.Contains(t, err.Error(), `key "b":`, "the key whose value is cut")
}
