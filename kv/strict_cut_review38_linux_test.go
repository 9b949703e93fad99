package kv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/strata-kv/strata/segment"
	"github.com/stretchr/testify/require"
)

// The active segment of a database is cut to its first page under its
// mapping (by another process). In Buffered mode the next small commit
// is copied into the mapping, faults, and fails cleanly; so did a Strict
// one before SyncEachFlush. With it (review 38) a Strict commit went by
// pwrite, which silently extended the cut file: the Put was acknowledged
// as durable, Gets of the commits past the cut came back wrong with no
// error (the README: "a segment truncated under its mapping gives clean
// errors"), and the directory did not reopen. Fixed: a pwrite is
// preceded by a load through the mapping, which faults as a copy does.
func TestReview38StrictCommitIntoCutActiveSegment(t *testing.T) {
	for _, d := range []Durability{Buffered, Strict} {
		// Buffered passes: its small group is copied and faults.
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			dir := t.TempDir()
			db, err := Open(dir, &Options{Durability: d})
			require.NoError(t, err)
			val := func(i int) []byte { // incompressible
				r := rand.New(rand.NewPCG(uint64(i), 38))
				b := make([]byte, 300)
				for j := range b {
					b[j] = byte(r.Uint32())
				}
				return b
			}
			for i := range 40 { // about 13 KB: pages 0 to 3
				_, err := db.Put("r", fmt.Sprintf("k%02d", i), Bytes(val(i)))
				require.NoError(t, err)
			}
			segs, err := filepath.Glob(filepath.Join(dir, "*"+segment.Ext))
			require.NoError(t, err)
			slices.Sort(segs)
			require.NoError(t, os.Truncate(segs[len(segs)-1], 4096))

			_, perr := db.Put("r", "after", Bytes([]byte("after the cut")))
			if perr == nil {
				wrong := 0
				for i := range 40 {
					v, ok, err := db.Get("r", fmt.Sprintf("k%02d", i))
					if err != nil {
						require.ErrorIs(t, err, ErrCorrupt)
						continue // a clean error
					}
					b, _ := v.Value.AsBytes()
					if !ok || !bytes.Equal(val(i), b) {
						diff := 0
						for diff < min(len(b), len(val(i))) && b[diff] == val(i)[diff] {
							diff++
						}
						t.Logf("k%02d: ok=%v, %d bytes, wrong from byte %d on (%x...), no error", i, ok, len(b), diff, b[diff:min(diff+8, len(b))])
						wrong++
					}
				}
				t.Logf("%v: the Put after the cut was acknowledged; %d of 40 Gets returned a wrong value without an error", d, wrong)
				db.Close()
				db2, oerr := Open(dir, &Options{Durability: d})
				if oerr != nil {
					t.Logf("%v: reopen fails: %v", d, oerr)
				} else {
					_, ok, gerr := db2.Get("r", "after")
					t.Logf("%v: reopened; the acknowledged Put present: %v (%v)", d, ok, gerr)
					db2.Close()
				}
			} else {
				db.Close()
			}
			require.Error(t, perr, "a commit into an active segment cut under its mapping must fail, not be acknowledged")
		})
	}
}
