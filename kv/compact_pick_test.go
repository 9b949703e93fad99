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

// refPick is pickGroups as the package doc of compact_pick.go states it,
// each decision computed from scratch: the reference the picker's
// incremental state is checked against.
func refPick(t *needTrie, order []uint32, needy, pick map[uint32]bool, size func(uint32) int64, at float64) {
	comp := map[uint32]int{} // segment: its group
	next := 0
	ensure := func(s uint32) int {
		if _, ok := comp[s]; !ok {
			next++
			comp[s] = next
		}
		return comp[s]
	}
	merge := func(a, b int) {
		for s, c := range comp {
			if c == b {
				comp[s] = a
			}
		}
	}
	path := func(n int32) []uint32 {
		var p []uint32
		for ; n != 0; n = t.nodes[n].parent {
			p = append(p, t.nodes[n].seg)
		}
		return p
	}
	within := func(n int32, in func(uint32) bool) bool {
		for _, s := range path(n) {
			if !in(s) {
				return false
			}
		}
		return true
	}
	short := func(s uint32, n int64) bool { return float64(n) < at*float64(size(s)) }
	pending := func(c int) []uint32 { // the group's needy segments not picked
		var out []uint32
		for s, g := range comp {
			if g == c && needy[s] && !pick[s] {
				out = append(out, s)
			}
		}
		return out
	}
	needyStep := func(c int) bool {
		x := pending(c)
		left := map[uint32]bool{}
		for {
			freed := map[uint32]int64{}
			for n := int32(1); n < int32(len(t.nodes)); n++ {
				s := t.nodes[n].seg
				if slices.Contains(x, s) && !left[s] &&
					within(n, func(q uint32) bool { return pick[q] || (slices.Contains(x, q) && !left[q]) }) {
					freed[s] += t.nodes[n].bytes
				}
			}
			more := false
			for _, s := range x {
				if !left[s] && short(s, freed[s]) {
					left[s], more = true, true
				}
			}
			if !more {
				break
			}
		}
		done := false
		for _, s := range x {
			if !left[s] {
				pick[s], done = true, true
			}
		}
		return done
	}
	wholeStep := func(c int) bool {
		var unpicked []uint32
		liveBytes := int64(0)
		for s, g := range comp {
			if g == c && !pick[s] {
				if size(s) <= 0 {
					return false
				}
				unpicked = append(unpicked, s)
				if !needy[s] {
					liveBytes += size(s)
				}
			}
		}
		if len(unpicked) == 0 {
			return false
		}
		in := func(q uint32) bool { return pick[q] || comp[q] == c }
		isLive := func(q uint32) bool { return comp[q] == c && !pick[q] && !needy[q] }
		freed := map[uint32]int64{}
		gain := int64(0)
		for n := int32(1); n < int32(len(t.nodes)); n++ {
			if !within(n, in) || within(n, func(q uint32) bool { return pick[q] }) {
				continue
			}
			freed[t.nodes[n].seg] += t.nodes[n].bytes
			if slices.ContainsFunc(path(n), isLive) {
				gain += t.nodes[n].bytes
			}
		}
		for _, s := range unpicked {
			if needy[s] && short(s, freed[s]) {
				return false
			}
		}
		if float64(gain) < at*float64(liveBytes) {
			return false
		}
		for _, s := range unpicked {
			pick[s] = true
		}
		return true
	}
	for _, j := range order {
		if !needy[j] || pick[j] {
			continue
		}
		ensure(j)
		for _, n := range t.bySeg[j] {
			for a := t.nodes[n].parent; a != 0 && !within(a, func(q uint32) bool { return pick[q] }); a = t.nodes[a].parent {
				if s := t.nodes[a].seg; !pick[s] {
					merge(comp[j], ensure(s))
				}
			}
		}
		for changed := true; changed; {
			changed = false
			for _, c := range slices.Sorted(maps.Values(comp)) {
				if needyStep(c) {
					changed = true
				}
				if wholeStep(c) {
					changed = true
				}
			}
		}
	}
}

// randomPickCase returns a random trie over segs segments (numbered 1 to
// segs, oldest first) with its needy and picked segments and sizes.
func randomPickCase(rng *rand.Rand, segs int) (t *needTrie, order []uint32, needy, pick map[uint32]bool, sizes map[uint32]int64) {
	var paths [][]uint32
	for range 1 + rng.IntN(12) {
		var path []uint32
		for s := 1; s <= segs; s++ {
			if rng.IntN(3) == 0 {
				path = append(path, uint32(s))
			}
		}
		if rng.IntN(20) == 0 && len(path) > 1 { // a path out of order
			rng.Shuffle(len(path), func(i, j int) { path[i], path[j] = path[j], path[i] })
			path = slices.Compact(path)
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
	needy, pick, sizes = map[uint32]bool{}, map[uint32]bool{}, map[uint32]int64{}
	for s := 1; s <= segs; s++ {
		order = append(order, uint32(s))
		switch rng.IntN(4) {
		case 0:
			pick[uint32(s)] = true
		case 1, 2:
			needy[uint32(s)] = true
		}
		if rng.IntN(30) != 0 || needy[uint32(s)] {
			sizes[uint32(s)] = int64(1 + rng.IntN(400))
		}
	}
	return t, order, needy, pick, sizes
}

// The picker's incremental state (groups merged, nodes held, waiting and
// let go) decides as refPick, which recomputes every decision from the
// trie: over random tries, both pick the same segments.
func TestPickGroupsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 1))
	picked := 0
	for c := range 20000 {
		trie, order, needy, pick, sizes := randomPickCase(rng, 2+rng.IntN(9))
		at := []float64{0.1, 0.3, 0.5, 0.9}[rng.IntN(4)]
		size := func(s uint32) int64 { return sizes[s] }
		want := maps.Clone(pick)
		refPick(trie, order, needy, want, size, at)
		got := maps.Clone(pick)
		trie.pickGroups(order, needy, got, size, at)
		if !maps.Equal(got, want) {
			t.Fatalf("case %d (at %.1f): picked %v, the reference %v\nneedy %v, picked before %v, sizes %v\nnodes %+v",
				c, at, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)),
				slices.Sorted(maps.Keys(needy)), slices.Sorted(maps.Keys(pick)), sizes, trie.nodes)
		}
		picked += len(got) - len(pick)
	}
	require.Greater(t, picked, 20000, "the cases pick segments")
}

// chainCase is a trie where no needy segment is ever worth a job: a key
// born in a huge live segment (1) and overwritten in each of the needy
// segments after it, with keys of their own that need it too. Each
// trial's group is every segment before.
func chainCase(segs int) (*needTrie, []uint32, map[uint32]bool, func(uint32) int64) {
	var paths [][]uint32
	heartbeat := []uint32{1}
	needy := map[uint32]bool{}
	order := []uint32{1}
	for s := uint32(2); s <= uint32(segs); s++ {
		heartbeat = append(heartbeat, s)
		needy[s] = true
		order = append(order, s)
		for range 9 {
			paths = append(paths, []uint32{1, s})
		}
	}
	paths = append(paths, heartbeat)
	t := trieOf(paths, func(int, int) int64 { return 100 })
	return t, order, needy, func(s uint32) int64 {
		if s == 1 {
			return 1 << 40
		}
		return 1000
	}
}

// Trials whose groups are not worth a job stay pending: a later trial
// meeting them joins their group rather than walking and weighing its
// segments again. Over a chain where every trial is rejected, the work
// grows as the nodes do (a trial walked and weighed every segment before
// it in 7ab8ce8: 21,200 segment sizes for 1,011 nodes, 82,400 for
// 2,011).
func TestPickGroupsLinearInRejectedTrials(t *testing.T) {
	var perNode [2]float64
	for i, segs := range []int{500, 2000} {
		trie, order, needy, size := chainCase(segs)
		pick := map[uint32]bool{}
		p := newPicker(trie, needy, pick, size, 0.5)
		for _, j := range order {
			if needy[j] && !pick[j] {
				p.trial(j)
			}
		}
		require.Empty(t, pick, "no group is worth its job")
		perNode[i] = float64(p.visits) / float64(len(trie.nodes))
		t.Logf("%d segments, %d nodes: %d visits (%.2f a node)", segs, len(trie.nodes), p.visits, perNode[i])
	}
	require.Less(t, perNode[1], 1.2*perNode[0], "visits a node grow with the segments")
	require.Less(t, perNode[1], 8.0, "visits a node")
}

// BenchmarkPickGroupsChain measures pickGroups over chainCase: its time
// should grow as the segments do.
func BenchmarkPickGroupsChain(b *testing.B) {
	for _, segs := range []int{1000, 4000} {
		b.Run(fmt.Sprint(segs), func(b *testing.B) {
			trie, order, needy, size := chainCase(segs)
			for b.Loop() {
				trie.pickGroups(order, needy, map[uint32]bool{}, size, 0.5)
			}
		})
	}
}
