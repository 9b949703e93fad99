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

// refPick is pickNeeded as the package doc of compact_pick.go states it,
// computed from scratch at each round and letting go of every segment
// that does not pay at once (pickNeeded lets go one at a time, in map
// order): the reference the incremental state is checked against.
func refPick(t *needTrie, pick map[uint32]bool, size func(uint32) int64, at float64) {
	in := map[uint32]bool{}
	for s := range t.bySeg {
		in[s] = pick[s] || size(s) > 0
	}
	goes := func(n int32) bool {
		for ; n != 0; n = t.nodes[n].parent {
			if !in[t.nodes[n].seg] {
				return false
			}
		}
		return true
	}
	for {
		gain := map[uint32]int64{}
		for w := int32(1); w < int32(len(t.nodes)); w++ {
			if goes(w) {
				for a := w; a != 0; a = t.nodes[a].parent {
					gain[t.nodes[a].seg] += t.nodes[w].bytes
				}
			}
		}
		var out []uint32
		for s := range in {
			if in[s] && !pick[s] && (gain[s] <= 0 || float64(gain[s]) < at*float64(size(s))) {
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
	for s := range in {
		if in[s] {
			pick[s] = true
		}
	}
}

// randomPickCase returns a random trie over segs segments (numbered 1 to
// segs, oldest first) with the segments picked alone and the sizes
// (some 0: not sealed).
func randomPickCase(rng *rand.Rand, segs int) (t *needTrie, pick map[uint32]bool, sizes map[uint32]int64) {
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
		if rng.IntN(4) == 0 {
			pick[uint32(s)] = true
		}
		if rng.IntN(30) != 0 || pick[uint32(s)] {
			sizes[uint32(s)] = int64(1 + rng.IntN(400))
		}
	}
	return t, pick, sizes
}

// pickNeeded's incremental state (subtree sums and gains updated as
// nodes stop going, one segment let go at a time in map order) picks as
// refPick, which recomputes every gain from the trie and lets go of all
// that do not pay at once: over random tries both pick the same, and so
// do three runs of pickNeeded (the order it lets go in does not matter).
func TestPickNeededMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 1))
	picked, left := 0, 0
	for c := range 20000 {
		trie, pick, sizes := randomPickCase(rng, 2+rng.IntN(9))
		at := []float64{0.1, 0.3, 0.5, 0.9}[rng.IntN(4)]
		size := func(s uint32) int64 { return sizes[s] }
		want := maps.Clone(pick)
		refPick(trie, want, size, at)
		for range 3 {
			got := maps.Clone(pick)
			trie.pickNeeded(got, size, at)
			if !maps.Equal(got, want) {
				t.Fatalf("case %d (at %.1f): picked %v, the reference %v\npicked before %v, sizes %v\nnodes %+v",
					c, at, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)),
					slices.Sorted(maps.Keys(pick)), sizes, trie.nodes)
			}
		}
		picked += len(want) - len(pick)
		left += len(trie.bySeg) - len(want)
	}
	t.Logf("%d segments picked, %d left", picked, left)
	require.Greater(t, picked, 20000, "the cases pick segments")
	require.Greater(t, left, 10000, "the cases leave segments")
}

// chainCase is a trie where no segment but the first pays: a key born
// in a huge live segment (1) and overwritten in each segment after it,
// with keys of their own that need it too.
func chainCase(segs int) (*needTrie, func(uint32) int64) {
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
	return t, func(s uint32) int64 {
		if s == 1 {
			return 1 << 40
		}
		return 1000
	}
}

// cascadeCase is the costly case: a key overwritten in every segment,
// each segment paying only with four newer ones behind it, so the
// newest does not pay, and letting it go makes the next one not pay,
// and so on to the oldest.
func cascadeCase(segs int) (*needTrie, func(uint32) int64) {
	var path []uint32
	for s := uint32(1); s <= uint32(segs); s++ {
		path = append(path, s)
	}
	t := trieOf([][]uint32{path}, func(int, int) int64 { return 100 })
	return t, func(uint32) int64 { return 1000 }
}

// The steps pickNeeded takes grow as the trie's nodes do when segments
// let go have shallow nodes (chainCase: a trial walked and weighed every
// segment before it in 7ab8ce8, 21,200 segment sizes for 1,011 nodes and
// 82,400 for 2,011), and as the nodes times their depth at worst
// (cascadeCase).
func TestPickNeededSteps(t *testing.T) {
	for _, segs := range []int{500, 2000} {
		trie, size := chainCase(segs)
		pick := map[uint32]bool{}
		steps := trie.pickNeeded(pick, size, 0.5)
		require.Empty(t, pick, "no segment pays")
		t.Logf("chain of %d segments, %d nodes: %d steps", segs, len(trie.nodes), steps)
		require.LessOrEqual(t, steps, 3*int64(len(trie.nodes)))

		trie, size = cascadeCase(segs)
		steps = trie.pickNeeded(pick, size, 0.5)
		require.Empty(t, pick, "no segment pays")
		n := int64(len(trie.nodes))
		t.Logf("cascade of %d segments: %d steps", segs, steps)
		require.LessOrEqual(t, steps, 2*n+n*n/2)
	}
}

// BenchmarkPickNeeded measures pickNeeded over chainCase (linear) and
// cascadeCase (quadratic, its worst).
func BenchmarkPickNeeded(b *testing.B) {
	for _, c := range []struct {
		name string
		of   func(int) (*needTrie, func(uint32) int64)
	}{{"chain", chainCase}, {"cascade", cascadeCase}} {
		for _, segs := range []int{1000, 4000} {
			b.Run(fmt.Sprint(c.name, "-", segs), func(b *testing.B) {
				trie, size := c.of(segs)
				for b.Loop() {
					trie.pickNeeded(map[uint32]bool{}, size, 0.5)
				}
			})
		}
	}
}
