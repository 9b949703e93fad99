package kv

// Which segments background compaction picks beyond those worth a job
// alone (see compactDead for needy and live segments).
//
// A node of the need trie goes (its versions are dropped) when its
// segment and every segment on its path are picked. A segment pays for
// itself when the bytes that go of the subtrees of its nodes, its own
// versions and those whose path holds it (the versions that would not go
// without it), reach CompactAt of its bytes (and are more than none).
// The segments picked are the largest set, among the sealed segments of
// the trie and with those picked alone, in which every segment not
// picked alone pays for itself.
//
// Paying for itself only gets easier as more segments are picked, so two
// sets that each pay for themselves do so together: the largest set is
// one, and is found by starting from every sealed segment and letting go,
// in any order, of one that does not pay until none is left. So a live
// segment is rewritten only for the versions that go because of it;
// needy segments that need the same live segment add up, whenever they
// were written; and a needy segment short of CompactAt is still picked
// when the versions that need it make up the rest.
//
// The cost is linear in the trie's nodes, plus the depth of each node
// that stops going when its segment is let go (the nodes above it lose
// its subtree's bytes): a key overwritten in n segments let go newest
// first costs up to n²/2 steps (BenchmarkPickNeeded's cascade, n²/8
// steps: about 9 ms for 4,000 segments here).

// pickNeeded adds to pick the segments worth a job with the segments
// picked (see above), given the bytes of each segment (0: not sealed,
// never picked) and CompactAt, and returns the steps it took.
func (t *needTrie) pickNeeded(pick map[uint32]bool, size func(uint32) int64, at float64) (steps int64) {
	n := len(t.nodes)
	going := make([]bool, n)
	sub := make([]int64, n) // a going node: the bytes of the going nodes of its subtree
	type segState struct {
		id                uint32
		in, fixed, queued bool
		gain, size        int64
	}
	segs := make([]segState, 0, len(t.bySeg))
	of := make([]int32, n) // a node: its segment's index in segs
	for s, ids := range t.bySeg {
		st := segState{id: s, size: size(s), fixed: pick[s]}
		st.in = st.fixed || st.size > 0
		for _, id := range ids {
			of[id] = int32(len(segs))
		}
		segs = append(segs, st)
	}
	going[0] = true
	for i := 1; i < n; i++ { // parents first
		going[i] = going[t.nodes[i].parent] && segs[of[i]].in
	}
	for i := n - 1; i > 0; i-- { // children first
		if going[i] {
			nd := &t.nodes[i]
			sub[i] += nd.bytes
			sub[nd.parent] += sub[i]
			segs[of[i]].gain += sub[i]
		}
	}
	steps = int64(n)

	pays := func(st *segState) bool {
		return st.gain > 0 && float64(st.gain) >= at*float64(st.size)
	}
	var queue []int32
	check := func(i int32) {
		if st := &segs[i]; st.in && !st.fixed && !st.queued && !pays(st) {
			st.queued = true
			queue = append(queue, i)
		}
	}
	for i := range segs {
		check(int32(i))
	}
	var stack []int32
	for len(queue) > 0 {
		i := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		segs[i].in = false
		for _, v := range t.bySeg[segs[i].id] {
			if !going[v] {
				continue
			}
			// v's subtree stops going: each node's segment loses what went
			// of the node's subtree, and v's ancestors lose all of it.
			lost := sub[v]
			stack = append(stack[:0], v)
			for len(stack) > 0 {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				steps++
				going[w] = false
				segs[of[w]].gain -= sub[w]
				sub[w] = 0
				check(of[w])
				for c := t.nodes[w].child; c != 0; c = t.nodes[c].sibling {
					if going[c] {
						stack = append(stack, c)
					}
				}
			}
			for a := t.nodes[v].parent; a != 0; a = t.nodes[a].parent {
				steps++
				sub[a] -= lost
				segs[of[a]].gain -= lost
				check(of[a])
			}
		}
	}
	for _, st := range segs {
		if st.in {
			pick[st.id] = true
		}
	}
	return steps
}
