package kv

import (
	"errors"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/segment"
)

// Review 11 (older than the commits reviewed: collect, kv/read.go): a
// Scan whose read of values fails names the key by the error's offset
// alone (the first entry whose recs[i].Field == ce.Offset), but offsets
// are per segment: two keys whose values lie at the same offset of two
// segments (the first entries of two segments with the same run, key
// length and value length, say) are not told apart. When the second
// one's file shrinks under its mapping, the error carries its file and
// offset but the first one's key.
func TestReview11ScanFaultKeyFromTheRightSegment(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 256 << 10, CompactAt: -1})
	ps := int64(os.Getpagesize())
	rng := rand.New(rand.NewPCG(5, 6))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	mustPut(t, db, "f", "filler", Int(1))
	// A clock that stands still for the test: the first frame of every
	// new segment has the same head (time delta 0).
	review11SetLastTS(t, db, time.Now().Add(time.Hour).UnixMicro())
	rollNow(t, db)
	mustPut(t, db, "r", "a", Bytes(random(int(4*ps))))
	rollNow(t, db)
	mustPut(t, db, "r", "b", Bytes(random(int(4*ps))))
	rollNow(t, db)

	ra, rb := review8Rec(t, db, "a"), review8Rec(t, db, "b")
	require.NotEqual(t, ra.Segment, rb.Segment)
	require.Equal(t, ra.Field, rb.Field, "same offset, two segments")
	sb := db.segs.Load().sealed[rb.Segment]
	require.NotNil(t, sb)
	// Cut b's file inside its value, past the lines read before the
	// length is known (as TestReview10ScanFaultNamesTheValueCut does).
	cut := (rb.Field + ps + ps - 1) / ps * ps
	require.NoError(t, os.Truncate(sb.Path(), cut))

	_, err := db.Scan("r", "", 10, "")
	require.ErrorIs(t, err, ErrCorrupt)
	t.Logf("error: %v", err)
	var ce *segment.CorruptError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, sb.Path(), ce.File, "b's file")
	require.Equal(t, rb.Field, ce.Offset)
	require.Contains(t, err.Error(), `key "b":`, "the key whose value is cut")
}
