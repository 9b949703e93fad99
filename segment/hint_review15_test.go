package segment

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// The builder's order is (run, key, version) for every count around the
// radix sort's threshold and with more than 256 runs (ranks of two
// bytes and more), empty keys and keys of zero bytes, keys sharing 16
// bytes and differing after, and versions added out of order.
func TestReview15HintOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 4))
	stems := []string{"", "\x00", "\x00\x00", "0123456789abcdef", "0123456789abcde", "0123456789abcdef\x00", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"}
	for _, n := range []int{1, 2, 126, 127, 128, 129, 300, 5000} {
		for _, nruns := range []int{1, 2, 300, 70000} {
			var es []HintEntry
			versions := r.Perm(n)
			for i := range n {
				k := stems[r.IntN(len(stems))]
				if r.IntN(2) == 0 {
					k += fmt.Sprint(r.IntN(5))
				}
				run := fmt.Sprintf("r%05d", r.IntN(nruns))
				if r.IntN(10) == 0 {
					run = ""
				}
				es = append(es, HintEntry{Run: []byte(run), Key: []byte(k), Version: uint64(versions[i] + 1), Len: uint32(i)})
			}
			b := builderOf(es)
			got := b.sorted()
			b.Release()
			want := slices.Clone(es)
			slices.SortFunc(want, func(x, y HintEntry) int { return x.Compare(&y) })
			require.Equal(t, want, got, "%d entries, %d runs", n, nruns)
		}
	}
}
