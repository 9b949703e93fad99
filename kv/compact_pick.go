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
// never gives, a pass decides only at its end.) Segments no path joins
// do not bear on each other's pay: each component (segments joined by
// paths) has its own passes.

// pickBudget bounds the node visits of pickNeeded's passes over one
// component of the trie (segments joined by paths): a pattern whose
// segments stop paying in turn, alternately older and newer ones (review
// 27's pipeline: a pass for each alternation), could otherwise cost
// passes as many as the segments over a trie of millions of nodes. Past
// it the look picks nothing of that component beyond what is worth a job
// alone (never more than it should), and decides the others as ever.
var pickBudget int64 = 64 << 20 // a var for the tests

// pickNeeded adds to pick the segments worth a job with the segments
// picked (see above), given the segments oldest first, the bytes of each
// segment (0: not sealed, never picked) and CompactAt, and returns the
// most passes it made over a component.
func (t *needTrie) pickNeeded(pick map[uint32]bool, order []uint32, size func(uint32) int64, at float64) (passes int) {
	n := len(t.nodes)
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
	segs := make([]pickSeg, 0, len(t.bySeg))
	for s := range t.bySeg {
		st := pickSeg{id: s, size: size(s), fixed: pick[s]}
		st.in = st.fixed || st.size > 0
		segs = append(segs, st)
	}
	slices.SortFunc(segs, func(a, b pickSeg) int {
		if c := cmp.Compare(rank[b.id], rank[a.id]); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	p := &picker{t: t, segs: segs, at: at, of: make([]int32, n),
		going: make([]bool, n), above: make([]int32, n), below: make([]float64, n)}
	for i := range segs {
		for _, id := range t.bySeg[segs[i].id] {
			p.of[id] = int32(i)
		}
	}
	p.going[0] = true
	// The segments joined by a path are decided together, apart from the
	// others (a component): each has its own passes, and its own budget.
	up := make([]int32, len(segs)) // union-find over segs
	for i := range up {
		up[i] = int32(i)
	}
	find := func(i int32) int32 {
		for up[i] != i {
			up[i] = up[up[i]]
			i = up[i]
		}
		return i
	}
	for i := 1; i < n; i++ {
		if par := t.nodes[i].parent; par != 0 {
			up[find(p.of[i])] = find(p.of[par])
		}
	}
	comps := map[int32]*pickComp{}
	var list []*pickComp
	for i := range segs { // newest first
		r := find(int32(i))
		c := comps[r]
		if c == nil {
			c = &pickComp{inOrder: true}
			comps[r] = c
			list = append(list, c)
		}
		c.segs = append(c.segs, int32(i))
	}
	for i := 1; i < n; i++ { // parents first
		c := comps[find(p.of[i])]
		c.nodes = append(c.nodes, int32(i))
		if par := t.nodes[i].parent; par != 0 && p.of[i] >= p.of[par] {
			c.inOrder = false // a path out of segment order
		}
	}
	for _, c := range list {
		passes = max(passes, p.decide(c))
	}
	for _, st := range segs {
		if st.in {
			pick[st.id] = true
		}
	}
	return passes
}

// pickSeg is a segment in pickNeeded.
type pickSeg struct {
	id               uint32
	in, fixed, short bool
	size             int64
	own, shares      float64
}

// picker is pickNeeded's state: its segments newest first, and for each
// node its segment's index in them (of), whether it goes, the nodes
// above it of short segments and the shares of the going nodes below it.
type picker struct {
	t     *needTrie
	segs  []pickSeg
	at    float64
	of    []int32
	going []bool
	above []int32
	below []float64
}

// pickComp is a component: its segments (newest first) and nodes
// (parents first), and whether its paths are in segment order.
type pickComp struct {
	segs, nodes []int32
	inOrder     bool
}

// pays reports whether st pays for itself.
func (p *picker) pays(st *pickSeg) bool {
	th := p.at * float64(st.size)
	return st.own > 0 && st.own >= th || st.short && st.own+st.shares > 0 && st.own+st.shares >= th
}

// letGo lets go of segment i if it does not pay, and reports whether it
// did; its nodes then count for none above them.
func (p *picker) letGo(i int32) bool {
	st := &p.segs[i]
	if !st.in || st.fixed || p.pays(st) {
		return false
	}
	st.in = false
	for _, id := range p.t.bySeg[st.id] {
		p.going[id] = false
	}
	return true
}

// decide makes passes over component c until none lets a segment go, and
// returns them. Past pickBudget node visits, it lets go of every segment
// of c not picked alone.
func (p *picker) decide(c *pickComp) (passes int) {
	t := p.t
	for {
		if passes++; int64(passes)*int64(len(c.nodes)) > pickBudget && passes > 2 {
			for _, i := range c.segs {
				if !p.segs[i].fixed {
					p.segs[i].in = false
				}
			}
			return passes
		}
		for _, i := range c.segs {
			p.segs[i].own, p.segs[i].shares = 0, 0
		}
		for _, i := range c.nodes { // parents first
			nd := &t.nodes[i]
			p.going[i] = p.going[nd.parent] && p.segs[p.of[i]].in
			if p.going[i] {
				p.segs[p.of[i]].own += float64(nd.bytes)
			}
		}
		for _, i := range c.segs {
			st := &p.segs[i]
			st.short = !st.fixed && st.own < p.at*float64(st.size)
		}
		for _, i := range c.nodes {
			par := t.nodes[i].parent
			p.above[i] = p.above[par]
			if par != 0 && p.segs[p.of[par]].short {
				p.above[i]++
			}
			p.below[i] = 0
		}
		changed := false
		if c.inOrder {
			for _, i := range c.segs {
				st := &p.segs[i]
				if !st.in {
					continue
				}
				for _, id := range t.bySeg[st.id] {
					if p.going[id] {
						st.shares += p.below[id]
					}
				}
				if p.letGo(i) {
					changed = true
					continue
				}
				for _, id := range t.bySeg[st.id] {
					if p.going[id] {
						p.share(id)
					}
				}
			}
		} else {
			for k := len(c.nodes) - 1; k >= 0; k-- { // children first
				if i := c.nodes[k]; p.going[i] {
					p.segs[p.of[i]].shares += p.below[i]
					p.share(i)
				}
			}
			for _, i := range c.segs {
				if p.letGo(i) {
					changed = true
				}
			}
		}
		if !changed {
			return passes
		}
	}
}

// share adds what node id passes on to its parent's below.
func (p *picker) share(id int32) {
	nd := &p.t.nodes[id]
	p.below[nd.parent] += p.below[id]
	if p.above[id] > 0 {
		p.below[nd.parent] += float64(nd.bytes) / float64(p.above[id])
	}
}
