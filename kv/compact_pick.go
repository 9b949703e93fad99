package kv

import (
	"cmp"
	"slices"
)

// Which segments background compaction picks beyond those worth a job
// alone (see compactDead for needy and live segments).
//
// A node of the need trie goes (its versions are dropped) when its
// segment and every segment on its path are picked. A segment not worth
// a job alone is picked when it pays for itself: when what goes of it
// (the bytes of its nodes that go) reaches CompactAt of its bytes, or,
// for a segment short of that, what goes of it and its share of what
// goes because of it does. A version that goes shares its bytes out
// equally among the short segments' nodes on its path above it: one
// version never pays for many segments in full. The segments picked are
// the largest set in which every segment pays.
//
// So a needy segment pays with its own versions when they go, as
// Options.CompactAt promises; a segment short of CompactAt (live, or
// needy with versions that need a segment not picked) is picked with the
// versions that need it when its own dead versions and its share of
// theirs pay for it; needy segments that need the same short segment add
// up, however far apart they were written; and what a set frees is at
// least half of CompactAt of what it rewrites (each byte that goes is
// counted once for its segment and once in shares).
//
// Paying only gets easier as more segments are picked (what goes of each
// segment only grows, so fewer are short and the shares only grow): two
// sets that each pay do so together, and the largest set is found by
// starting from every sealed segment and letting go of those that do not
// pay until none is left. That takes passes over the trie, each a sweep
// from the newest segment to the oldest that lets a segment go as soon as
// it is found not to pay (its versions then count for none older), so
// that one pass lets go of a whole chain of segments each paying only
// with the newer ones. A pass that follows lets go of what needed a
// segment let go before it, so a chain whose links go alternately to
// older and newer segments takes a pass for each alternation (see
// pickBudget). (Where a path is out of segment order, which the index
// never gives, a pass decides only at its end.)

// pickBudget bounds the node visits of pickNeeded's passes: a pattern
// whose segments stop paying in turn, alternately older and newer ones
// (review 27's pipeline: a pass for each alternation), could otherwise
// cost passes as many as the segments over a trie of millions of nodes.
// Past it the look picks nothing beyond what is worth a job alone (never
// more than it should), and the next look tries again.
var pickBudget = 64 << 20 // a var for the tests

// pickNeeded adds to pick the segments worth a job with the segments
// picked (see above), given the segments oldest first, the bytes of each
// segment (0: not sealed, never picked) and CompactAt, and returns the
// passes it made over the trie.
func (t *needTrie) pickNeeded(pick map[uint32]bool, order []uint32, size func(uint32) int64, at float64) (passes int) {
	n := len(t.nodes)
	type segState struct {
		id               uint32
		in, fixed, short bool
		size             int64
		own, shares      float64
	}
	// segs: the trie's segments newest first (those order does not list
	// first, as the newest: the active segment, or one sealed since).
	rank := make(map[uint32]int, len(order))
	for i, s := range order {
		rank[s] = i + 1
	}
	for s := range t.bySeg {
		if rank[s] == 0 {
			rank[s] = len(order) + 1
		}
	}
	segs := make([]segState, 0, len(t.bySeg))
	for s := range t.bySeg {
		st := segState{id: s, size: size(s), fixed: pick[s]}
		st.in = st.fixed || st.size > 0
		segs = append(segs, st)
	}
	slices.SortFunc(segs, func(a, b segState) int {
		if c := cmp.Compare(rank[b.id], rank[a.id]); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	of := make([]int32, n) // a node: its segment's index in segs
	for i := range segs {
		for _, id := range t.bySeg[segs[i].id] {
			of[id] = int32(i)
		}
	}
	inOrder := true // every node's segment comes after its parent's in order
	for i := 1; i < n; i++ {
		if p := t.nodes[i].parent; p != 0 && of[i] >= of[p] {
			inOrder = false
		}
	}
	going := make([]bool, n)
	above := make([]int32, n)   // the nodes above a node of short segments
	below := make([]float64, n) // the shares of the nodes that go below a node
	going[0] = true
	pays := func(st *segState) bool {
		th := at * float64(st.size)
		return st.own > 0 && st.own >= th || st.short && st.own+st.shares > 0 && st.own+st.shares >= th
	}
	// letGo lets go of segment i if it does not pay, and reports whether it
	// did; its nodes then count for none above them.
	letGo := func(i int) bool {
		st := &segs[i]
		if !st.in || st.fixed || pays(st) {
			return false
		}
		st.in = false
		for _, id := range t.bySeg[st.id] {
			going[id] = false
		}
		return true
	}
	for {
		if passes++; passes*n > pickBudget && passes > 2 {
			return passes // see pickBudget: nothing more is picked
		}
		for i := range segs {
			segs[i].own, segs[i].shares = 0, 0
		}
		for i := 1; i < n; i++ { // parents first
			nd := &t.nodes[i]
			going[i] = going[nd.parent] && segs[of[i]].in
			if going[i] {
				segs[of[i]].own += float64(nd.bytes)
			}
		}
		for i := range segs {
			st := &segs[i]
			st.short = !st.fixed && st.own < at*float64(st.size)
		}
		for i := 1; i < n; i++ {
			p := t.nodes[i].parent
			above[i] = above[p]
			if p != 0 && segs[of[p]].short {
				above[i]++
			}
			below[i] = 0
		}
		// share adds what node id passes on to its parent's below.
		share := func(id int32) {
			nd := &t.nodes[id]
			below[nd.parent] += below[id]
			if above[id] > 0 {
				below[nd.parent] += float64(nd.bytes) / float64(above[id])
			}
		}
		changed := false
		if inOrder {
			for i := range segs {
				st := &segs[i]
				if !st.in {
					continue
				}
				for _, id := range t.bySeg[st.id] {
					if going[id] {
						st.shares += below[id]
					}
				}
				if letGo(i) {
					changed = true
					continue
				}
				for _, id := range t.bySeg[st.id] {
					if going[id] {
						share(id)
					}
				}
			}
		} else {
			for i := n - 1; i > 0; i-- { // children first
				if going[i] {
					segs[of[i]].shares += below[i]
					share(int32(i))
				}
			}
			for i := range segs {
				if letGo(i) {
					changed = true
				}
			}
		}
		if !changed {
			break
		}
	}
	for _, st := range segs {
		if st.in {
			pick[st.id] = true
		}
	}
	return passes
}
