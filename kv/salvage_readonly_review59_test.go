package kv

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// Review 59: RecoverSalvage with ReadOnly "serves versions 1..V from the
// files as they are". A writable salvage replaces the damaged segment by
// its intact frames, so a change feed over 1..V reads to a clean end; a
// read-only salvage maps the damaged segment whole (recovery.salvage
// appends d.s without Clip(d.intact), where the torn-tail path clips), so
// Changes walks from version V straight into the damaged frame and fails
// with ErrCorrupt: the read-only salvaged DB does not serve 1..V.
func TestReview59ReadOnlySalvageServesChangesUpToV(t *testing.T) {
	mem := vfs.NewMem()
	db, err := openMem(t, mem, Options{Durability: Strict, SegmentSize: 600, CompactAt: -1})
	require.NoError(t, err)
	for i := range 30 {
		mustPut(t, db, DefaultRun, fmt.Sprintf("k%02d", i), Int(int64(i)))
	}
	require.NoError(t, db.Close())
	seg2 := filepath.Join("/db", segment.FileName(2))
	b, err := vfs.ReadFile(mem, seg2)
	require.NoError(t, err)
	b[len(b)/2] ^= 0x40 // a frame in the middle of sealed segment 2
	require.NoError(t, vfs.WriteFileAtomic(mem, seg2, b))

	for _, ro := range []bool{false, true} {
		t.Run(fmt.Sprintf("readonly=%v", ro), func(t *testing.T) {
			img := mem.CrashClone(1)
			db, err := openMem(t, img, Options{Durability: Strict, Recovery: RecoverSalvage, ReadOnly: ro, CompactAt: -1})
			require.NoError(t, err)
			defer db.Close()
			v := db.LastVersion()
			require.EqualValues(t, v, db.Recovery().SalvagedAt)
			require.Less(t, uint64(v), uint64(30))
			require.Positive(t, uint64(v))
			ch, err := db.Changes(DefaultRun, "", 0, 1000)
			require.NoError(t, err, "Changes over the versions the salvaged DB serves (1..%d)", v)
			require.Len(t, ch, int(v))
			ch, err = db.Changes(DefaultRun, "", v-1, 1000)
			require.NoError(t, err)
			require.Len(t, ch, 1)
		})
	}
}
