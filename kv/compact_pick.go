package kv

// Which segments background compaction picks beyond those worth a job
// alone (see compactDead for needy and live segments).
//
// A node of the need trie goes (its versions are dropped) when its
// segment and every segment on its path are picked. A segment not worth
// a job alone is picked when it pays for itself: when its gain reaches
// CompactAt of its bytes (and is more than none). Its gain is the bytes
// of its nodes that go, plus what goes below its nodes (the versions
// that need it): in full for a needy segment, and for a live one a
// share, a node's bytes being shared out equally among the live
// segments' nodes above it. The segments picked are the largest set in
// which every segment pays.
//
// So a needy segment pays with its own versions, as Options.CompactAt
// promises, or with those that need it; and a live segment is picked
// when its own dead versions and its shares of what goes because of it
// pay for it: a version that needs many live segments pays each a part,
// never each in full. Needy segments that need the same live segment add
// up, however far apart they were written.
//
// Paying only gets easier as more segments are picked (the shares are
// fixed by the paths), so two sets that each pay do so together: the
// largest set is one, found by starting from every sealed segment and
// letting go of those that do not pay, round after round, until none is
// left. A round costs a pass over the trie's nodes; the rounds are few
// unless letting go of some segments makes the next ones fail in turn (a
// chain of segments each paying only with the ones after it takes a
// round for each few of its links).

// pickNeeded adds to pick the segments worth a job with the segments
// picked (see above), given the needy segments, the bytes of each
// segment (0: not sealed, never picked) and CompactAt, and returns the
// rounds it took.
func (t *needTrie) pickNeeded(pick, needy map[uint32]bool, size func(uint32) int64, at float64) (rounds int) {
	n := len(t.nodes)
	type segState struct {
		id               uint32
		in, fixed, needy bool
		size             int64
		gain             float64
	}
	segs := make([]segState, 0, len(t.bySeg))
	of := make([]int32, n) // a node: its segment's index in segs
	for s, ids := range t.bySeg {
		st := segState{id: s, size: size(s), fixed: pick[s], needy: needy[s] && !pick[s]}
		st.in = st.fixed || st.size > 0
		for _, id := range ids {
			of[id] = int32(len(segs))
		}
		segs = append(segs, st)
	}
	// live: a segment neither picked alone nor needy.
	live := func(st *segState) bool { return !st.fixed && !st.needy }
	// above: how many nodes above a node have a live segment (its bytes'
	// shares).
	above := make([]int32, n)
	for i := 1; i < n; i++ { // parents first
		p := t.nodes[i].parent
		above[i] = above[p]
		if p != 0 && live(&segs[of[p]]) {
			above[i]++
		}
	}
	going := make([]bool, n)
	// below and shares: the bytes of the going nodes below a node, and
	// their shares.
	below := make([]int64, n)
	shares := make([]float64, n)
	going[0] = true
	for {
		rounds++
		for i := range segs {
			segs[i].gain = 0
		}
		for i := 1; i < n; i++ {
			going[i] = going[t.nodes[i].parent] && segs[of[i]].in
			below[i], shares[i] = 0, 0
		}
		for i := n - 1; i > 0; i-- { // children first
			if !going[i] {
				continue
			}
			nd := &t.nodes[i]
			st := &segs[of[i]]
			st.gain += float64(nd.bytes)
			switch {
			case st.needy:
				st.gain += float64(below[i])
			case live(st):
				st.gain += shares[i]
			}
			below[nd.parent] += below[i] + nd.bytes
			shares[nd.parent] += shares[i]
			if above[i] > 0 {
				shares[nd.parent] += float64(nd.bytes) / float64(above[i])
			}
		}
		fail := false
		for i := range segs {
			st := &segs[i]
			if st.in && !st.fixed && !(st.gain > 0 && st.gain >= at*float64(st.size)) {
				st.in, fail = false, true
			}
		}
		if !fail {
			break
		}
	}
	for _, st := range segs {
		if st.in {
			pick[st.id] = true
		}
	}
	return rounds
}
