package index

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// sortRefs, called again and again with linkMu held on batches of every
// size (around the radix sort's threshold, past maxSortScratch, then
// small again, so that the scratch grows, is dropped and is reused),
// gives (run, key) order: runs with high bits set, empty keys, keys of
// zero bytes, keys sharing 16 bytes and differing after.
func TestReview15SortRefsOrder(t *testing.T) {
	ix := New()
	defer ix.Close()
	r := rand.New(rand.NewPCG(15, 3))
	runs := []uint32{0, 1, 2, 0xff, 0x100, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe}
	stems := []string{"", "\x00", "\x00\x00", "user/0000000001/", "user/0000000001", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "k"}
	var prev []uint32 // the previous call's result, which must stay as it was
	var prevWant []uint32
	for _, n := range []int{2, 3, 127, 128, 129, 1000, maxSortScratch + 1, 50, 129, 5000, 2} {
		seen := map[rk]bool{}
		var batch []uint32
		for len(batch) < n {
			run := runs[r.IntN(len(runs))]
			key := stems[r.IntN(len(stems))]
			switch r.IntN(3) {
			case 0:
				key += fmt.Sprint(r.IntN(n + 10))
			case 1:
				key += string([]byte{byte(r.IntN(3))})
			}
			if seen[rk{run, key}] {
				if len(seen) > 40*n {
					t.Fatal("too few distinct keys")
				}
				key += fmt.Sprintf("/%d", len(batch))
				if seen[rk{run, key}] {
					continue
				}
			}
			seen[rk{run, key}] = true
			batch = append(batch, newNodeH(t, ix, run, key, 1))
		}
		want := slices.Clone(batch)
		slices.SortFunc(want, func(a, b uint32) int {
			return cmp.Or(cmp.Compare(ix.node(a).run, ix.node(b).run), bytes.Compare(ix.key(a), ix.key(b)))
		})
		ix.linkMu.Lock()
		ix.sortRefs(batch)
		ix.linkMu.Unlock()
		require.Equal(t, want, batch, "%d keys", n)
		require.Equal(t, prevWant, prev, "the previous batch changed")
		require.LessOrEqual(t, cap(ix.sortBuf), maxSortScratch)
		require.Equal(t, cap(ix.sortBuf), cap(ix.sortTmp))
		prev, prevWant = batch, slices.Clone(batch)
	}
}
