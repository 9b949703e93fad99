package kv

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
)

// The index keeps no value lengths: Stats.DeadBytes reads each droppable
// version's length from its segment. A segment mixing large values that
// were overwritten with small ones that were not must report the large
// ones' bytes as dead, not a share by count, and agree with what Compact
// then reclaims.
func TestDeadBytesWeighsValuesByTheirLength(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 8 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 10 {
		b := make([]byte, 200<<10) // incompressible
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		mustPut(t, db, "r", fmt.Sprintf("big%d", i), Bytes(b))
	}
	for i := range 1000 {
		mustPut(t, db, "r", fmt.Sprintf("small%d", i), Int(int64(i)))
	}
	for i := range 10 {
		mustPut(t, db, "r", fmt.Sprintf("big%d", i), Int(int64(i))) // the big values die
	}
	rollNow(t, db)
	st := db.Stats()
	var stored int64
	for i := range 10 {
		c, ok := db.ix.Find("r", fmt.Sprintf("big%d", i))
		require.True(t, ok)
		first := true
		c.Raw(func(r index.Record) bool {
			if first {
				first = false
				return true
			}
			b, _, err := db.segs.Load().read(r)
			require.NoError(t, err)
			stored += int64(len(b))
			return true
		})
	}
	t.Logf("DeadBytes %d, LiveBytes %d, the big values' stored bytes %d", st.DeadBytes, st.LiveBytes, stored)
	require.Greater(t, stored, int64(10*200<<10), "the big values are big on disk")
	require.GreaterOrEqual(t, st.DeadBytes, stored)
	require.Less(t, st.DeadBytes, stored+10*64, "their keys and framing on top, not the small values")
	cs, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.InEpsilon(t, float64(cs.BytesReclaimed), float64(st.DeadBytes), 0.2)
}

// With more droppable values in a segment than deadSample, DeadBytes
// counts them at the mean of a sample: values of two sizes, mixed at
// random, come out within a few percent of their true total.
func TestDeadBytesSamplesManyValues(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	rng := rand.New(rand.NewPCG(3, 4))
	const keys = 4000
	var want int64
	for i := range keys {
		n := 10
		if rng.IntN(2) == 0 {
			n = 2000
		}
		b := make([]byte, n) // incompressible
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		mustPut(t, db, "r", fmt.Sprintf("k%d", i), Bytes(b))
	}
	for i := range keys {
		c, ok := db.ix.Find("r", fmt.Sprintf("k%d", i))
		require.True(t, ok)
		r, ok := c.Newest()
		require.True(t, ok)
		b, _, err := db.segs.Load().read(r)
		require.NoError(t, err)
		want += int64(len(b)) + int64(len(fmt.Sprintf("k%d", i))) + entryOverhead
		mustPut(t, db, "r", fmt.Sprintf("k%d", i), Int(1)) // the old version may go
	}
	rollNow(t, db)
	got := db.Stats().DeadBytes
	t.Logf("DeadBytes %d, the droppable versions' bytes %d", got, want)
	require.InEpsilon(t, float64(want), float64(got), 0.1)
	require.Greater(t, keys, deadSample, "more than a sample")
}
