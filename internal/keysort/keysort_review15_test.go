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

// Keys differing only in chosen digits (so that the digit skip is taken
// for the others), runs and prefixes with their high bits set, every
// length around small, scratch longer than the keys and prefilled: Radix
// gives a stable comparison sort's order and returns a prefix of ks or
// of tmp.
func TestReview15RadixDigitsAndLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 1))
	hi := []uint64{0, 1, 0x80, 0xff, 1 << 63, ^uint64(0), ^uint64(0) >> 8, 0xff00000000000000}
	lengths := []int{0, 1, 2, 3, small - 2, small - 1, small, small + 1, small + 2, 2 * small, 1000, 4099}
	for trial := range 400 {
		n := lengths[trial%len(lengths)]
		// a mask of the digits that vary in this trial
		var mask [digits]bool
		for d := range mask {
			mask[d] = r.IntN(4) == 0
		}
		base := Key{K0: r.Uint64(), K1: r.Uint64(), Run: r.Uint32()}
		ks := make([]Key, n)
		for i := range ks {
			k := base
			for d := range digits {
				if !mask[d] {
					continue
				}
				v := uint64(hi[r.IntN(len(hi))] >> (8 * uint(r.IntN(8))) & 0xff)
				if r.IntN(2) == 0 {
					v = uint64(r.IntN(3))
				}
				switch {
				case d < 8:
					k.K1 = k.K1&^(0xff<<(8*d)) | v<<(8*d)
				case d < 16:
					k.K0 = k.K0&^(0xff<<(8*(d-8))) | v<<(8*(d-8))
				default:
					k.Run = k.Run&^(0xff<<(8*(d-16))) | uint32(v)<<(8*(d-16))
				}
			}
			k.Ref = uint32(i)
			ks[i] = k
		}
		want := slices.Clone(ks)
		slices.SortFunc(want, compare)
		tmp := make([]Key, n+r.IntN(50))
		for i := range tmp {
			tmp[i] = Key{K0: ^uint64(0), K1: 7, Run: 9, Ref: ^uint32(0)}
		}
		ksData, tmpData := ks[:cap(ks)], tmp[:cap(tmp)]
		got := Radix(ks, tmp)
		require.Len(t, got, n)
		require.Equal(t, want, got, "trial %d: %d keys", trial, n)
		if n > 0 {
			require.True(t, &got[0] == &ksData[0] || &got[0] == &tmpData[0], "trial %d: result is in neither slice", trial)
		}
		for i := 1; i < len(got); i++ {
			require.False(t, Less(&got[i], &got[i-1]))
			require.Equal(t, Same(&got[i], &got[i-1]), compare(Key{K0: got[i].K0, K1: got[i].K1, Run: got[i].Run}, Key{K0: got[i-1].K0, K1: got[i-1].K1, Run: got[i-1].Run}) == 0)
		}
	}
}

// Keys sharing 16 bytes with differing tails, empty keys and keys of
// zero bytes (which all have the prefix 0, 0), in runs with high bits:
// Radix then Ties with the whole comparison gives (run, key) order.
func TestReview15TiesWholeKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 2))
	pool := [][]byte{
		{}, {0}, {0, 0}, make([]byte, 16), make([]byte, 17), append(make([]byte, 16), 1),
		[]byte("0123456789abcdef"), []byte("0123456789abcdef\x00"), []byte("0123456789abcdefX"),
		[]byte("0123456789abcdefXY"), []byte("0123456789abcdef\xff"), []byte("0123456789abcde"),
		[]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
		[]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00"),
	}
	runs := []uint32{0, 1, 0xff, 0x100, 0x80000000, 0xffffffff}
	for _, n := range []int{2, small - 1, small, small + 1, 3000} {
		type rec struct {
			run uint32
			key []byte
		}
		recs := make([]rec, n)
		for i := range recs {
			k := pool[r.IntN(len(pool))]
			if r.IntN(3) == 0 {
				k = fmt.Appendf(bytes.Clone(k), "%d", r.IntN(20))
			}
			recs[i] = rec{runs[r.IntN(len(runs))], k}
		}
		ks := make([]Key, n)
		for i, rc := range recs {
			k0, k1 := Prefix(rc.key)
			ks[i] = Key{K0: k0, K1: k1, Run: rc.run, Ref: uint32(i)}
		}
		whole := func(a, b Key) int {
			return cmp.Or(cmp.Compare(recs[a.Ref].run, recs[b.Ref].run), bytes.Compare(recs[a.Ref].key, recs[b.Ref].key), cmp.Compare(a.Ref, b.Ref))
		}
		got := Radix(ks, make([]Key, n))
		Ties(got, whole)
		want := slices.Clone(ks)
		slices.SortFunc(want, whole)
		require.Equal(t, want, got, "%d keys", n)
	}
}

// A digit that all Keys but one share is not skipped: the odd Key, at
// any place, with a digit above or below the others', moves.
func TestReview15RadixOneKeyDiffers(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 6))
	for _, n := range []int{small - 1, small, small + 1, 777} {
		for d := range digits {
			for _, v := range []uint64{0, 0xff} {
				ks := make([]Key, n)
				for i := range ks {
					ks[i] = Key{K0: 0x5555555555555555, K1: 0x5555555555555555, Run: 0x55555555, Ref: uint32(i)}
				}
				k := &ks[r.IntN(n)]
				switch {
				case d < 8:
					k.K1 = k.K1&^(0xff<<(8*d)) | v<<(8*d)
				case d < 16:
					k.K0 = k.K0&^(0xff<<(8*(d-8))) | v<<(8*(d-8))
				default:
					k.Run = k.Run&^(0xff<<(8*(d-16))) | uint32(v)<<(8*(d-16))
				}
				want := slices.Clone(ks)
				slices.SortFunc(want, compare)
				require.Equal(t, want, Radix(ks, make([]Key, n)), "%d keys, digit %d, value %#x", n, d, v)
			}
		}
	}
}
