package keysort

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// compare orders Keys by (Run, K0, K1) then Ref: with Refs given in
// arrival order, the order a stable sort by (Run, K0, K1) must give.
func compare(a, b Key) int {
	return cmp.Or(cmp.Compare(a.Run, b.Run), cmp.Compare(a.K0, b.K0), cmp.Compare(a.K1, b.K1), cmp.Compare(a.Ref, b.Ref))
}

// shapes make keys the way callers see them: dense numbers behind a
// shared prefix, random bytes, short keys, keys sharing 16 bytes.
var shapes = map[string]func(r *rand.Rand) []byte{
	"dense":  func(r *rand.Rand) []byte { return fmt.Appendf(nil, "key:%012d", r.IntN(1<<20)) },
	"random": func(r *rand.Rand) []byte { return binaryKey(r, 1+r.IntN(24)) },
	"short":  func(r *rand.Rand) []byte { return []byte{byte(r.IntN(3)), byte(r.IntN(2))}[:r.IntN(3)] },
	"shared": func(r *rand.Rand) []byte { return fmt.Appendf(nil, "user/000000000001/%d", r.IntN(50)) },
	"few":    func(r *rand.Rand) []byte { return []byte{byte(r.IntN(4)) * 85} },
	"skewed": func(r *rand.Rand) []byte { // most in one part of every split
		if r.IntN(10) > 0 {
			return fmt.Appendf(nil, "hot:%012d", r.IntN(1<<30))
		}
		return binaryKey(r, 1+r.IntN(20))
	},
}

func binaryKey(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Radix gives the order a stable comparison sort gives, below and above
// the length where it stops sorting by comparison and at the sizes of a
// hint's sort, for every shape and for one run and many.
func TestRadixMatchesAComparisonSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for name, shape := range shapes {
		for _, n := range []int{0, 1, 2, small - 1, small, small + 1, 1000, 20000, 40000, 100000} {
			for _, runs := range []int{1, 3, 1 << 20} {
				ks := make([]Key, n)
				for i := range ks {
					k0, k1 := Prefix(shape(r))
					ks[i] = Key{K0: k0, K1: k1, Run: uint32(r.IntN(runs)), Ref: uint32(i)}
				}
				want := slices.Clone(ks)
				slices.SortFunc(want, compare)
				got := Radix(ks, make([]Key, n))
				require.Len(t, got, n)
				require.Equal(t, want, got, "%s, %d keys, %d runs", name, n, runs)
			}
		}
	}
}

// Radix takes scratch longer than the keys and returns no more than
// their length.
func TestRadixLongerScratch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ks := make([]Key, 500)
	for i := range ks {
		ks[i] = Key{K0: r.Uint64(), K1: r.Uint64(), Ref: uint32(i)}
	}
	want := slices.Clone(ks)
	slices.SortFunc(want, compare)
	require.Equal(t, want, Radix(ks, make([]Key, 2000)))
}

// Prefix compares as the keys' first 16 bytes do, padding short keys
// with zeros.
func TestPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		a, b := binaryKey(r, r.IntN(20)), binaryKey(r, r.IntN(20))
		if r.IntN(2) == 0 && len(a) > 0 {
			b = append(slices.Clone(a[:r.IntN(len(a))]), b...) // a shared prefix
		}
		pa, pb := pad16(a), pad16(b)
		a0, a1 := Prefix(a)
		b0, b1 := Prefix(b)
		want := bytes.Compare(pa, pb)
		got := cmp.Or(cmp.Compare(a0, b0), cmp.Compare(a1, b1))
		require.Equal(t, want, got, "%x %x", a, b)
	}
	k0, k1 := Prefix([]byte("ab"))
	require.Equal(t, uint64('a')<<56|uint64('b')<<48, k0)
	require.Zero(t, k1)
}

func pad16(b []byte) []byte {
	p := make([]byte, 16)
	copy(p, b)
	return p
}

// Ties orders each stretch of equal sort keys by the whole comparison
// and leaves the rest as it was.
func TestTies(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	keys := make([][]byte, 3000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "prefix-sixteen-b%d", r.IntN(400)) // 16 bytes shared
		if r.IntN(4) == 0 {
			keys[i] = fmt.Appendf(nil, "k%d", r.IntN(100))
		}
	}
	ks := make([]Key, len(keys))
	for i, k := range keys {
		k0, k1 := Prefix(k)
		ks[i] = Key{K0: k0, K1: k1, Ref: uint32(i)}
	}
	whole := func(a, b Key) int { return cmp.Or(bytes.Compare(keys[a.Ref], keys[b.Ref]), cmp.Compare(a.Ref, b.Ref)) }
	ks = Radix(ks, make([]Key, len(ks)))
	Ties(ks, whole)
	require.True(t, slices.IsSortedFunc(ks, whole))
}

// BenchmarkSort compares Radix with a comparison sort on batches of
// dense keys, as the linker sorts them (its batches hold 1k to 64k keys)
// and a hint build (about 500k). A most-significant-digit split of the
// large ones into parts that fit in the cache measured slower (64k keys
// 38 -> 70 ns a key, 512k 44 -> 102): every level counts every digit
// again, and the scatter of a 12 MB array is not what costs.
func BenchmarkSort(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1 << 10, 1 << 16, 1 << 19} {
		ks := make([]Key, n)
		for i := range ks {
			k0, k1 := Prefix(fmt.Appendf(nil, "key:%012d", r.IntN(1<<20)))
			ks[i] = Key{K0: k0, K1: k1, Ref: uint32(i)}
		}
		work, tmp := make([]Key, n), make([]Key, n)
		b.Run(fmt.Sprintf("radix/%d", n), func(b *testing.B) {
			for b.Loop() {
				copy(work, ks)
				Radix(work, tmp)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
		})
		b.Run(fmt.Sprintf("inplace/%d", n), func(b *testing.B) {
			for b.Loop() {
				copy(work, ks)
				InPlace(work, tmp[:min(n, InPlaceScratch)])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
		})
		b.Run(fmt.Sprintf("compare/%d", n), func(b *testing.B) {
			for b.Loop() {
				copy(work, ks)
				slices.SortFunc(work, compare)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
		})
	}
}

// InPlace gives the order of a comparison sort by (Run, K0, K1) and
// keeps every Key, for every shape, one run and many, below and above
// the length where it sorts by comparison, and at a hint's sizes.
func TestInPlaceMatchesAComparisonSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for name, shape := range shapes {
		for _, n := range []int{0, 1, 2, small - 1, small, small + 1, 1000, 20000, 100000} {
			for _, runs := range []int{1, 3, 1 << 20} {
				ks := make([]Key, n)
				for i := range ks {
					k0, k1 := Prefix(shape(r))
					ks[i] = Key{K0: k0, K1: k1, Run: uint32(r.IntN(runs)), Ref: uint32(i)}
				}
				// Scratch for none of the parts, some and all.
				scratch := []int{0, small, 5000, n}[r.IntN(4)]
				want := slices.Clone(ks)
				slices.SortFunc(want, compare)
				InPlace(ks, make([]Key, scratch))
				require.True(t, slices.IsSortedFunc(ks, func(a, b Key) int {
					return cmp.Or(cmp.Compare(a.Run, b.Run), cmp.Compare(a.K0, b.K0), cmp.Compare(a.K1, b.K1))
				}), "%s, %d keys, %d runs, scratch %d: not in order", name, n, runs, scratch)
				// The same Keys: in Ref order within equal prefixes, the
				// order compare gives.
				Ties(ks, func(a, b Key) int { return cmp.Compare(a.Ref, b.Ref) })
				require.Equal(t, want, ks, "%s, %d keys, %d runs, scratch %d", name, n, runs, scratch)
			}
		}
	}
}
