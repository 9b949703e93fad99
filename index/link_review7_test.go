package index

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// newNodeH allocates a node of (run, key) with tower height h, not linked
// and not in the hash table: for driving linkSorted with chosen heights.
func newNodeH(t *testing.T, ix *Index, run uint32, key string, h int) uint32 {
	t.Helper()
	ref := ix.mem.alloc(nodeSize(h, len(key), Record{}))
	require.NotZero(t, ref)
	n := ix.node(ref)
	n.run, n.h, n.klen = run, uint8(h), uint16(len(key))
	copy(ix.key(ref), key)
	ix.first(ref).set(mkrec(1, false))
	return ref
}

type rk struct {
	run uint32
	key string
}

// level0 returns the (run, key)s of level 0 in list order.
func level0(ix *Index) []rk {
	var out []rk
	for x := ix.next(ix.head, 0); x != 0; x = ix.next(x, 0) {
		out = append(out, rk{ix.node(x).run, string(ix.key(x))})
	}
	return out
}

// Windows of keys whose heights are chosen adversarially (tall towers in
// the middle of a window, raising the list height; all keys tall; all
// short), several runs, keys around 16 bytes and prefixes of each other,
// batches of every size across window boundaries, linked by linkSorted
// into lists that already hold keys of earlier batches.
func TestReview7LinkSortedChosenHeights(t *testing.T) {
	seeds := 300
	if raceEnabled || testing.Short() {
		seeds = 40
	}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 77))
		ix := New()
		seen := map[rk]bool{}
		total := 0
		for round := range 1 + r.IntN(6) {
			n := []int{1, 2, 7, 8, 9, 255, 256, 257, 511, 513, 1000}[r.IntN(11)]
			hmode := r.IntN(5)
			var batch []uint32
			for i := 0; len(batch) < n && i < 10*n; i++ {
				run := uint32(1 + r.IntN(3))
				var key string
				switch r.IntN(5) {
				case 0:
					key = strings.Repeat("a", r.IntN(40))
				case 1:
					key = fmt.Sprintf("shared-prefix-16%d", r.IntN(5000))
				case 2:
					key = fmt.Sprintf("%016d", r.IntN(100000))
				case 3:
					b := make([]byte, r.IntN(20))
					for j := range b {
						b[j] = []byte{0, 1, 'x', 0xff}[r.IntN(4)]
					}
					key = string(b)
				default:
					key = fmt.Sprintf("k%d-%d", round, r.IntN(100000))
				}
				if seen[rk{run, key}] {
					continue
				}
				seen[rk{run, key}] = true
				var h int
				switch hmode {
				case 0:
					h = randomHeight()
				case 1:
					h = 1 + r.IntN(maxHeight)
				case 2:
					h = 1
					if r.IntN(50) == 0 {
						h = maxHeight - r.IntN(3)
					}
				case 3:
					h = maxHeight
				default:
					h = 1 + r.IntN(3)
				}
				batch = append(batch, newNodeH(t, ix, run, key, h))
			}
			total += len(batch)
			ix.linkMu.Lock()
			ix.sortRefs(batch)
			ix.linkSorted(batch)
			ix.linkMu.Unlock()
			checkLevels(t, ix, total)
		}
		var want []rk
		for k := range seen {
			want = append(want, k)
		}
		sort.Slice(want, func(i, j int) bool {
			if want[i].run != want[j].run {
				return want[i].run < want[j].run
			}
			return want[i].key < want[j].key
		})
		require.Equal(t, want, level0(ix), "seed %d", seed)
		// every key is found by a search from the top
		for _, k := range want {
			x := ix.findGE(k.run, k.key, nil)
			require.NotZero(t, x)
			require.Equal(t, k.key, string(ix.key(x)))
			require.True(t, bytes.Equal([]byte(k.key), ix.key(x)))
		}
		ix.Close()
	}
}

// Huge keys (up to MaxKeyLen) sharing long prefixes link in order.
func TestReview7LinkHugeKeys(t *testing.T) {
	ix := New()
	defer ix.Close()
	r := rand.New(rand.NewPCG(1, 2))
	base := strings.Repeat("h", MaxKeyLen-2)
	model := map[string]bool{}
	v := uint64(0)
	for round := range 4 {
		for range 300 {
			var k string
			switch r.IntN(3) {
			case 0:
				k = base + string([]byte{byte(r.IntN(256)), byte(r.IntN(256))})
			case 1:
				k = base[:r.IntN(len(base))]
			default:
				k = fmt.Sprintf("%d-%d", round, r.IntN(1000))
			}
			if model[k] {
				continue
			}
			model[k] = true
			v++
			require.NoError(t, ix.Add("r", k, mkrec(v, false)))
		}
		ix.linkPending()
		checkLevels(t, ix, len(model))
	}
	var want []string
	for k := range model {
		want = append(want, k)
	}
	sort.Strings(want)
	got := keysOf(ix, "r", "")
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.True(t, want[i] == got[i], "key %d", i)
	}
}
