package offheap

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

type rec struct {
	a uint64
	b [3]uint32
	c int16
}

// Slices come zeroed, hold what is written to them, small ones come from
// the heap and large ones are mapped (where mapping is Enabled), and
// Free gives back every mapping.
func TestArena(t *testing.T) {
	var a Arena
	small := a.Bytes(100)
	require.Len(t, small, 100)
	require.Zero(t, a.Mapped(), "a small allocation comes from the heap")

	recs := Slice[rec](&a, 100000)
	require.Len(t, recs, 100000)
	for i := range recs {
		require.Zero(t, recs[i])
		recs[i] = rec{a: uint64(i), c: int16(i)}
	}
	for i := range recs {
		require.Equal(t, uint64(i), recs[i].a)
	}
	big := a.Bytes(1 << 20)
	big[len(big)-1] = 7
	if Enabled {
		require.Equal(t, 100000*int(sizeofRec)+1<<20, a.Mapped())
	} else {
		require.Zero(t, a.Mapped())
	}
	a.Free()
	require.Zero(t, a.Mapped())

	// The arena is usable after Free.
	again := a.Bytes(minMapped)
	again[0] = 1
	a.Free()
	require.Zero(t, a.Mapped())
	a.Free() // twice: nothing to do
}

var sizeofRec = unsafe.Sizeof(rec{})

// A type holding pointers is refused: the collector would not see them.
func TestSliceRefusesPointers(t *testing.T) {
	var a Arena
	defer a.Free()
	require.Panics(t, func() { Slice[*int](&a, 1) })
	require.Panics(t, func() { Slice[string](&a, 1) })
	require.Panics(t, func() { Slice[struct{ x []byte }](&a, 1) })
	require.Panics(t, func() { Slice[[2]map[int]int](&a, 1) })
	require.Panics(t, func() { Slice[byte](&a, -1) })
	require.NotPanics(t, func() { Slice[[0]*int](&a, 1) })
	require.NotPanics(t, func() { Slice[struct{ x [4]float64 }](&a, 1) })
}
