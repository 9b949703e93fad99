package kv

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// trieOf builds a needTrie from keys' paths (each a key's segments,
// oldest first), each node of a path weighing bytes.
func trieOf(paths [][]uint32, bytes func(key, i int) int64) *needTrie {
	t := &needTrie{nodes: make([]needNode, 1), bySeg: map[uint32][]int32{}}
	ids := map[uint64]int32{}
	for k, path := range paths {
		node := int32(0)
		for i, s := range path {
			node = t.child(ids, node, s)
			t.nodes[node].bytes += bytes(k, i)
		}
	}
	return t
}

// refPick is pickNeeded as the doc of compact_pick.go states it, each
// round computed from each node's path and letting go of every segment
// that does not pay at once: it returns the segments picked, and whether
// a sum came within a millionth of its segment's threshold (where sums
// in other orders may round apart).
func refPick(t *needTrie, pick map[uint32]bool, size func(uint32) int64, at float64) (map[uint32]bool, bool) {
	in := map[uint32]bool{}
	for s := range t.bySeg {
		in[s] = pick[s] || size(s) > 0
	}
	goes := func(w int32) bool {
		for ; w != 0; w = t.nodes[w].parent {
			if !in[t.nodes[w].seg] {
				return false
			}
		}
		return true
	}
	near := false
	for {
		own := map[uint32]float64{}
		for w := int32(1); w < int32(len(t.nodes)); w++ {
			if goes(w) {
				own[t.nodes[w].seg] += float64(t.nodes[w].bytes)
			}
		}
		th := func(s uint32) float64 { return at * float64(size(s)) }
		short := func(s uint32) bool { return !pick[s] && own[s] < th(s) }
		shares := map[uint32]float64{}
		for w := int32(1); w < int32(len(t.nodes)); w++ {
			if !goes(w) {
				continue
			}
			var to []int32 // the nodes above w of short segments
			for a := t.nodes[w].parent; a != 0; a = t.nodes[a].parent {
				if short(t.nodes[a].seg) {
					to = append(to, a)
				}
			}
			for _, a := range to {
				shares[t.nodes[a].seg] += float64(t.nodes[w].bytes) / float64(len(to))
			}
		}
		var out []uint32
		for s := range in {
			if !in[s] || pick[s] {
				continue
			}
			gain := own[s]
			if short(s) {
				gain += shares[s]
			}
			if d := gain - th(s); d > -1e-6*th(s) && d < 1e-6*th(s) {
				near = true
			}
			if gain <= 0 || gain < th(s) {
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			break
		}
		for _, s := range out {
			in[s] = false
		}
	}
	got := maps.Clone(pick)
	for s := range in {
		if in[s] {
			got[s] = true
		}
	}
	return got, near
}

// randomPickCase returns a random trie over segs segments (numbered 1 to
// segs, oldest first) with the segments picked alone and the sizes
// (some 0: not sealed).
func randomPickCase(rng *rand.Rand, segs int) (t *needTrie, pick map[uint32]bool, order []uint32, sizes map[uint32]int64) {
	var paths [][]uint32
	for range 1 + rng.IntN(12) {
		var path []uint32
		for s := 1; s <= segs; s++ {
			if rng.IntN(3) == 0 {
				path = append(path, uint32(s))
			}
		}
		switch rng.IntN(20) {
		case 0: // a path out of order
			rng.Shuffle(len(path), func(i, j int) { path[i], path[j] = path[j], path[i] })
		case 1: // a path through a segment twice
			if len(path) > 1 {
				path = append(path, path[0])
			}
		}
		if len(path) > 0 {
			paths = append(paths, path)
		}
	}
	weights := make([][]int64, len(paths))
	for k := range paths {
		for range paths[k] {
			weights[k] = append(weights[k], int64(1+rng.IntN(100)))
		}
	}
	t = trieOf(paths, func(k, i int) int64 { return weights[k][i] })
	pick, sizes = map[uint32]bool{}, map[uint32]int64{}
	for s := 1; s <= segs; s++ {
		order = append(order, uint32(s))
		if rng.IntN(4) == 0 {
			pick[uint32(s)] = true
		}
		if rng.IntN(30) != 0 || pick[uint32(s)] {
			sizes[uint32(s)] = int64(1 + rng.IntN(400))
		}
	}
	return t, pick, order, sizes
}

// pickNeeded's passes over the trie (gains summed up subtrees) pick as
// refPick, which sums each node's shares along its path, over random
// tries; and three runs of pickNeeded (its segments numbered in map
// order) pick the same.
func TestPickNeededMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 1))
	picked, left, close := 0, 0, 0
	for c := range 20000 {
		trie, pick, order, sizes := randomPickCase(rng, 2+rng.IntN(9))
		at := []float64{0.1, 0.3, 0.5, 0.9}[rng.IntN(4)]
		size := func(s uint32) int64 { return sizes[s] }
		want, near := refPick(trie, pick, size, at)
		if near {
			close++
			continue
		}
		for range 3 {
			got := maps.Clone(pick)
			trie.pickNeeded(got, order, size, at)
			if !maps.Equal(got, want) {
				t.Fatalf("case %d (at %.1f): picked %v, the reference %v\npicked before %v, sizes %v\nnodes %+v",
					c, at, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)),
					slices.Sorted(maps.Keys(pick)), sizes, trie.nodes)
			}
		}
		picked += len(want) - len(pick)
		left += len(trie.bySeg) - len(want)
	}
	t.Logf("%d segments picked, %d left; %d cases skipped as ties", picked, left, close)
	require.Greater(t, picked, 20000, "the cases pick segments")
	require.Greater(t, left, 10000, "the cases leave segments")
	require.Less(t, close, 200, "few ties")
}

// upTo returns the segments 1 to n, oldest first.
func upTo(n int) []uint32 {
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i + 1)
	}
	return order
}

// chainCase is a trie where no segment but the first pays: a key born
// in a huge live segment (1) and overwritten in each segment after it,
// with keys of their own that need it too.
func chainCase(segs int) (*needTrie, []uint32, func(uint32) int64) {
	var paths [][]uint32
	heartbeat := []uint32{1}
	for s := uint32(2); s <= uint32(segs); s++ {
		heartbeat = append(heartbeat, s)
		for range 9 {
			paths = append(paths, []uint32{1, s})
		}
	}
	paths = append(paths, heartbeat)
	t := trieOf(paths, func(int, int) int64 { return 100 })
	return t, upTo(segs), func(s uint32) int64 {
		if s == 1 {
			return 1 << 40
		}
		return 1000
	}
}

// cascadeCase: a key overwritten in every segment, each segment paying
// only with four newer ones behind it, so the newest does not pay, nor
// then the next one, and so on to the oldest (96175a5 took steps
// quadratic in the segments over it, fa6e45f a pass for every few).
func cascadeCase(segs int) (*needTrie, []uint32, func(uint32) int64) {
	var path []uint32
	for s := uint32(1); s <= uint32(segs); s++ {
		path = append(path, s)
	}
	t := trieOf([][]uint32{path}, func(int, int) int64 { return 100 })
	return t, upTo(segs), func(uint32) int64 { return 1000 }
}

// The passes pickNeeded makes over the trie: in chainCase, where the huge
// segment every path needs goes in the first (7ab8ce8 walked and weighed
// every segment before each trial there, 21,200 segment sizes for 1,011
// nodes and 82,400 for 2,011), and in cascadeCase, where each segment
// pays only with those after it (a pass for every few links before the
// sweeps went newest first), two: one lets go, one finds nothing to.
func TestPickNeededRounds(t *testing.T) {
	for _, segs := range []int{500, 4000} {
		trie, order, size := chainCase(segs)
		pick := map[uint32]bool{}
		require.LessOrEqual(t, trie.pickNeeded(pick, order, size, 0.5), 3, "chain of %d", segs)
		require.Empty(t, pick, "no segment pays")
		trie, order, size = cascadeCase(segs)
		rounds := trie.pickNeeded(pick, order, size, 0.5)
		t.Logf("cascade of %d segments: %d rounds", segs, rounds)
		require.Empty(t, pick, "no segment pays")
		require.Equal(t, 2, rounds)
	}
}

// Past pickBudget node visits in a component, pickNeeded picks nothing
// more of it: over random tries with no budget at all (a component may
// make two passes), it picks what it picks without the budget or less,
// never more; and less in some.
func TestPickNeededBudget(t *testing.T) {
	defer func(b int64) { pickBudget = b }(pickBudget)
	rng := rand.New(rand.NewPCG(27, 4))
	cut := 0
	for range 2000 {
		trie, pick, order, sizes := randomPickCase(rng, 2+rng.IntN(9))
		size := func(s uint32) int64 { return sizes[s] }
		pickBudget = 64 << 20
		full := maps.Clone(pick)
		trie.pickNeeded(full, order, size, 0.5)
		pickBudget = 0
		got := maps.Clone(pick)
		trie.pickNeeded(got, order, size, 0.5)
		for s := range got {
			require.True(t, full[s], "picked %d only with the budget", s)
		}
		if len(got) < len(full) {
			cut++
		}
	}
	t.Logf("%d of 2000 cut short", cut)
	require.Positive(t, cut)
}

// BenchmarkPickNeeded measures pickNeeded over chainCase (linear) and
// cascadeCase (quadratic, its worst).
func BenchmarkPickNeeded(b *testing.B) {
	for _, c := range []struct {
		name string
		of   func(int) (*needTrie, []uint32, func(uint32) int64)
	}{{"chain", chainCase}, {"cascade", cascadeCase}} {
		for _, segs := range []int{1000, 4000} {
			b.Run(fmt.Sprint(c.name, "-", segs), func(b *testing.B) {
				trie, order, size := c.of(segs)
				for b.Loop() {
					trie.pickNeeded(map[uint32]bool{}, order, size, 0.5)
				}
			})
		}
	}
}
