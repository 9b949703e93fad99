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

// Review 15: readValuesInto's first touch of each field is a prefetch,
// which does not fault on amd64: a value whose field lies wholly in pages
// its file lost must still fail the read (not decode as zeros), naming
// that value, whichever neighbours come before and after it in the read
// and whatever fieldGuess is. (go test -tags purego runs the portable
// prefetch, a load.)
func TestReview15ScanFaultOnAFieldPastTheCut(t *testing.T) {
	for _, warm := range []bool{false, true} {
		t.Run(fmt.Sprint("guess at cap ", warm), func(t *testing.T) {
			db, err := Open(t.TempDir(), &Options{SegmentSize: 256 << 10, CompactAt: -1})
			require.NoError(t, err)
			defer db.Close()
			ps := int64(os.Getpagesize())
			rng := rand.New(rand.NewPCG(15, 5))
			random := func(n int) []byte {
				b := make([]byte, n)
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
				return b
			}
			mustPut(t, db, "r", "a", String("value of a"))
			mustPut(t, db, "r", "c", Bytes(random(700)))
			rc := review8Rec(t, db, "c")
			cut := (rc.Field/ps + 2) * ps
			w := db.segs.Load().active
			for i := 0; w.Size() < cut+ps+100; i++ {
				mustPut(t, db, "f", fmt.Sprintf("x%04d", i), Bytes(random(200)))
			}
			mustPut(t, db, "r", "b", Bytes(random(300)))
			mustPut(t, db, "f", "tail", Bytes(random(int(2*ps))))
			rollNow(t, db)
			if warm {
				mustPut(t, db, "g", "g1", Bytes(random(600)))
				mustPut(t, db, "g", "g2", String("g2"))
				_, err = db.Scan("g", "", 10, "")
				require.NoError(t, err)
				require.EqualValues(t, maxFieldGuess, db.fieldGuess.Load())
			}
			ra, rb := review8Rec(t, db, "a"), review8Rec(t, db, "b")
			require.Less(t, rc.Field+700+64, cut)
			require.GreaterOrEqual(t, rb.Field, cut+ps/2, "b's field is past the cut, in a page wholly lost")
			sa := db.segs.Load().sealed[rb.Segment]
			require.NotNil(t, sa)
			require.Equal(t, ra.Segment, rb.Segment)
			require.NoError(t, os.Truncate(sa.Path(), cut))

			_, err = db.Scan("r", "", 10, "")
			require.ErrorIs(t, err, ErrCorrupt)
			require.Contains(t, err.Error(), "shrank under its mapping")
			var ce *segment.CorruptError
			require.True(t, errors.As(err, &ce))
			require.Equal(t, sa.Path(), ce.File)
			require.Equal(t, rb.Field, ce.Offset, "b's field")
			require.Contains(t, err.Error(), `key "b":`)

			v, ok, err := db.Get("r", "a")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, String("value of a"), v.Value)
			_, err = db.History("r", "b", 10, 0)
			require.ErrorIs(t, err, ErrCorrupt)
		})
	}
}
