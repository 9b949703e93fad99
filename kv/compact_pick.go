package kv

// Which needy segments background compaction picks, and with which
// segments (see compactDead for needy and live segments).
//
// The needy segments are tried in order, oldest first. A needy
// segment's group is every segment not picked on the paths of its nodes
// (what its versions need), together with the groups of those segments
// still pending from earlier trials: a group that was not worth a job
// stays pending, so the gains of the needy segments that need the same
// live segments add up until they pay for them. A group is decided in
// two steps:
//
//  1. Its needy segments alone: they are picked when what goes of each
//     of them, counting only the versions whose path holds no live
//     segment of the group, reaches CompactAt of it. A needy segment
//     that falls short is left out, and with it the versions that need
//     it, until the rest pass or none is left.
//  2. The whole group: its live segments are picked (and its needy ones
//     left) when the versions that go only with them (those with a live
//     segment of the group on their path) reach CompactAt of their
//     bytes, and what goes of each needy segment reaches CompactAt of it.
//     A live segment is rewritten only for what would not go without it.
//
// Picking segments makes more versions go with other pending groups
// (their paths now picked), which are decided again. Decisions only ever
// add segments, and a group's worth only grows as segments are picked,
// so the result does not depend on the order groups are decided in.
//
// The cost is linear in the trie's nodes: a node is walked up through
// once (a walk stops at a node walked before and joins its group, which
// holds every segment above it), and held, let go and moved between
// groups' waiting lists a bounded number of times (the smaller group's
// lists move into the larger's). Step 1 goes over a group's held nodes
// when some of its needy segments fall short and others do not.

// pickGroups adds to pick the needy segments worth a job and the live
// segments worth a job with them (see above). order lists the segments
// oldest first; size gives a segment's bytes (0: not sealed, never
// picked); at is CompactAt.
func (t *needTrie) pickGroups(order []uint32, needy, pick map[uint32]bool, size func(uint32) int64, at float64) {
	p := newPicker(t, needy, pick, size, at)
	for _, j := range order {
		if needy[j] && !pick[j] {
			p.trial(j)
		}
	}
}

// Node states in a picker: open, held by a pending group (its versions
// go if the group's segments are picked), or gone (every segment on
// its path is picked).
const (
	nodeOpen uint8 = iota
	nodeHeld
	nodeGone
)

// picker is pickGroups' state for one look.
type picker struct {
	t           *needTrie
	needy, pick map[uint32]bool
	sizeOf      func(uint32) int64
	at          float64

	state  []uint8
	via    []bool   // a held node's path holds a live segment of its group
	walked []bool   // a trial walked up through the node
	rep    []uint32 // a walked or held node: a segment of its group
	out    []bool   // scratch of step 1: a held node that needs a needy segment left out

	groups  map[uint32]*pickGroup // each segment in a group: its element
	sizes   map[uint32]int64
	freed   map[uint32]int64 // a pending needy segment: the bytes of its held nodes
	alone   map[uint32]int64 // the part of freed with no live segment on its path
	waiting map[uint32][]uint32

	work       []*pickGroup
	stack      []pickStep
	settleNext []int32
	visits     int64 // nodes walked, held, let go or moved: the work done
}

// pickStep is a node to hold, and whether its parent's path holds a live
// segment.
type pickStep struct {
	node int32
	via  bool
}

// pickGroup is a set of segments decided together, in a union-find of
// the segments: up is nil for the set's root, which holds its state.
type pickGroup struct {
	up      *pickGroup
	members []uint32
	queued  bool

	needy      int   // members needy and not picked
	short      int   // of those, how many free less than at of themselves with the group
	shortAlone int   // how many free less than that with its needy members alone
	blocked    int   // members not sealed
	live       int64 // the bytes of its live members (not needy, not picked)
	liveGain   int64 // the bytes of the held nodes with a live member on their path

	// held and heldLive are the nodes that go with the group, without
	// and with a live member on their path, each parent before its
	// children.
	held, heldLive []int32
	// wait and waitLive are the open children of held nodes (without and
	// with a live member on the parent's path) by segment: they go with
	// the group once their segment is picked or joins it.
	wait, waitLive map[uint32][]int32
}

func newPicker(t *needTrie, needy, pick map[uint32]bool, size func(uint32) int64, at float64) *picker {
	n := len(t.nodes)
	p := &picker{t: t, needy: needy, pick: pick, sizeOf: size, at: at,
		state: make([]uint8, n), via: make([]bool, n), walked: make([]bool, n),
		rep: make([]uint32, n), out: make([]bool, n),
		groups: map[uint32]*pickGroup{}, sizes: map[uint32]int64{},
		freed: map[uint32]int64{}, alone: map[uint32]int64{}, waiting: map[uint32][]uint32{}}
	p.state[0] = nodeGone
	for i := 1; i < n; i++ { // parents first
		if nd := &t.nodes[i]; pick[nd.seg] && p.state[nd.parent] == nodeGone {
			p.state[i] = nodeGone
		}
	}
	return p
}

// trial decides needy segment j with its group.
func (p *picker) trial(j uint32) {
	if p.groups[j] == nil {
		p.join(j)
	}
	t := p.t
	for _, id := range t.bySeg[j] {
		if p.walked[id] || p.state[id] != nodeOpen {
			continue
		}
		p.walked[id], p.rep[id] = true, j
		for a := t.nodes[id].parent; p.state[a] != nodeGone; a = t.nodes[a].parent {
			p.visits++
			if p.walked[a] || p.state[a] == nodeHeld {
				p.union(p.groups[j], p.groups[p.rep[a]])
				break
			}
			p.walked[a], p.rep[a] = true, j
			if s := t.nodes[a].seg; !p.pick[s] {
				if p.groups[s] == nil {
					p.join(s)
				}
				p.union(p.groups[j], p.groups[s])
			}
		}
	}
	p.queue(find(p.groups[j]))
	p.decide()
}

// find returns the root of g's set.
func find(g *pickGroup) *pickGroup {
	r := g
	for r.up != nil {
		r = r.up
	}
	for g != r {
		g, g.up = g.up, r
	}
	return r
}

// groupOf returns the root of segment s's group (nil: none).
func (p *picker) groupOf(s uint32) *pickGroup {
	if g := p.groups[s]; g != nil {
		return find(g)
	}
	return nil
}

// live reports whether segment s is neither needy nor picked.
func (p *picker) live(s uint32) bool { return !p.needy[s] && !p.pick[s] }

// short reports whether n bytes of segment s fall short of at of it.
func (p *picker) short(s uint32, n int64) bool {
	return float64(n) < p.at*float64(p.sizes[s])
}

// join puts segment s (not picked) in a group of its own, holding its
// nodes whose path above is gone.
func (p *picker) join(s uint32) *pickGroup {
	g := &pickGroup{members: []uint32{s}}
	p.groups[s] = g
	n := p.sizeOf(s)
	p.sizes[s] = n
	if n <= 0 {
		g.blocked = 1
	}
	if p.needy[s] {
		g.needy = 1
		if p.short(s, 0) {
			g.short, g.shortAlone = 1, 1
		}
	} else {
		g.live = max(n, 0)
	}
	for _, id := range p.t.bySeg[s] {
		p.visits++
		if p.state[id] == nodeOpen && p.state[p.t.nodes[id].parent] == nodeGone {
			p.hold(id, g, false)
		}
	}
	return g
}

// hold makes node id (open, its parent gone or held by g) and the open
// nodes below it that g's segments and the picked ones cover held by g
// (a root); via tells whether the parent's path holds a live segment.
func (p *picker) hold(id int32, g *pickGroup, via bool) {
	t := p.t
	p.stack = append(p.stack[:0], pickStep{id, via})
	for len(p.stack) > 0 {
		st := p.stack[len(p.stack)-1]
		p.stack = p.stack[:len(p.stack)-1]
		if p.state[st.node] != nodeOpen {
			continue
		}
		p.visits++
		nd := &t.nodes[st.node]
		s := nd.seg
		v := st.via || p.live(s)
		p.state[st.node], p.via[st.node], p.rep[st.node] = nodeHeld, v, g.members[0]
		if v {
			g.heldLive = append(g.heldLive, st.node)
			g.liveGain += nd.bytes
		} else {
			g.held = append(g.held, st.node)
		}
		if p.needy[s] && !p.pick[s] {
			if f := p.freed[s]; p.short(s, f) && !p.short(s, f+nd.bytes) {
				g.short--
			}
			p.freed[s] += nd.bytes
			if !v {
				if f := p.alone[s]; p.short(s, f) && !p.short(s, f+nd.bytes) {
					g.shortAlone--
				}
				p.alone[s] += nd.bytes
			}
		}
		for c := nd.child; c != 0; c = t.nodes[c].sibling {
			if p.state[c] != nodeOpen {
				continue
			}
			if cs := t.nodes[c].seg; p.pick[cs] || p.groupOf(cs) == g {
				p.stack = append(p.stack, pickStep{c, v})
			} else {
				p.await(g, c, cs, v)
			}
		}
	}
}

// await records open node c of segment cs, a child of a node held by g
// (a root), as waiting for cs.
func (p *picker) await(g *pickGroup, c int32, cs uint32, via bool) {
	if len(g.wait[cs]) == 0 && len(g.waitLive[cs]) == 0 {
		p.waiting[cs] = append(p.waiting[cs], g.members[0])
	}
	m := &g.wait
	if via {
		m = &g.waitLive
	}
	if *m == nil {
		*m = map[uint32][]int32{}
	}
	(*m)[cs] = append((*m)[cs], c)
}

// weight is how much a union moving g's lists would move.
func (g *pickGroup) weight() int {
	return len(g.members) + len(g.held) + len(g.heldLive) + len(g.wait) + len(g.waitLive)
}

// union merges the groups of a and b, holds the nodes that waited in one
// for a segment of the other, and returns the root.
func (p *picker) union(a, b *pickGroup) *pickGroup {
	a, b = find(a), find(b)
	if a == b {
		return a
	}
	if a.weight() < b.weight() {
		a, b = b, a
	}
	b.up = a
	moved := b.members
	a.members = append(a.members, moved...)
	a.needy += b.needy
	a.short += b.short
	a.shortAlone += b.shortAlone
	a.blocked += b.blocked
	a.live += b.live
	a.liveGain += b.liveGain
	a.held = append(a.held, b.held...)
	a.heldLive = append(a.heldLive, b.heldLive...)
	var ready []pickStep
	for i, m := range []map[uint32][]int32{b.wait, b.waitLive} {
		for cs, ns := range m {
			p.visits += int64(len(ns))
			if p.groupOf(cs) == a {
				for _, c := range ns {
					ready = append(ready, pickStep{c, i == 1})
				}
				continue
			}
			for _, c := range ns {
				p.await(a, c, cs, i == 1)
			}
		}
	}
	for _, s := range moved {
		for i, m := range []map[uint32][]int32{a.wait, a.waitLive} {
			for _, c := range m[s] {
				ready = append(ready, pickStep{c, i == 1})
			}
			delete(m, s)
		}
	}
	*b = pickGroup{up: a}
	for _, st := range ready {
		p.hold(st.node, a, st.via)
	}
	return a
}

// queue adds g (a root) to the groups to decide.
func (p *picker) queue(g *pickGroup) {
	if !g.queued {
		g.queued = true
		p.work = append(p.work, g)
	}
}

// decide decides the queued groups, and those that segments picked
// meanwhile give more, until none is left.
func (p *picker) decide() {
	for len(p.work) > 0 {
		g := p.work[len(p.work)-1]
		p.work = p.work[:len(p.work)-1]
		g.queued = false
		g = find(g)
		p.needyStep(g)
		p.wholeStep(g)
	}
}

// needyStep is step 1: it picks g's needy segments that are worth a job
// without its live segments, if any, and reports whether it did.
func (p *picker) needyStep(g *pickGroup) bool {
	if g.needy == 0 || g.shortAlone == g.needy {
		return false
	}
	t := p.t
	var picked []uint32
	if g.shortAlone == 0 {
		for _, s := range g.members {
			if p.needy[s] && !p.pick[s] {
				picked = append(picked, s)
			}
		}
		for _, s := range picked {
			p.pick[s] = true
		}
		for _, id := range g.held {
			p.state[id] = nodeGone
		}
		g.held = g.held[:0]
		p.letGo(g.wait, nil)
		g.wait = nil
	} else {
		// Leave out the needy segments that fall short, and the nodes that
		// need them, until what is left passes. The ones short on their
		// own (alone) are left out first: the loop's first pass would
		// find just those.
		left := map[uint32]bool{}
		for _, s := range g.members {
			if p.needy[s] && !p.pick[s] && p.short(s, p.alone[s]) {
				left[s] = true
			}
		}
		freed := map[uint32]int64{}
		for {
			clear(freed)
			for _, id := range g.held {
				nd := &t.nodes[id]
				p.out[id] = left[nd.seg] || (p.state[nd.parent] == nodeHeld && p.out[nd.parent])
				if !p.out[id] {
					freed[nd.seg] += nd.bytes
				}
			}
			p.visits += int64(len(g.held))
			more := false
			for _, s := range g.members {
				if p.needy[s] && !p.pick[s] && !left[s] && p.short(s, freed[s]) {
					left[s], more = true, true
				}
			}
			if !more {
				break
			}
		}
		for _, s := range g.members {
			if p.needy[s] && !p.pick[s] && !left[s] {
				picked = append(picked, s)
			}
		}
		if len(picked) == 0 {
			for _, id := range g.held {
				p.out[id] = false
			}
			return false
		}
		for _, s := range picked {
			p.pick[s] = true
		}
		kept := g.held[:0]
		for _, id := range g.held {
			if !p.out[id] {
				p.state[id] = nodeGone
			} else {
				kept = append(kept, id)
			}
		}
		g.held = kept
		p.letGo(g.wait, p.out)
		for _, id := range g.held {
			p.out[id] = false
		}
	}
	g.needy -= len(picked)
	for _, s := range picked {
		p.release(s)
	}
	return true
}

// wholeStep is step 2: it picks every segment of g not picked if the
// live ones are worth it, and reports whether it did.
func (p *picker) wholeStep(g *pickGroup) bool {
	if g.blocked > 0 || g.short > 0 || float64(g.liveGain) < p.at*float64(g.live) {
		return false
	}
	var picked []uint32
	for _, s := range g.members {
		if !p.pick[s] {
			picked = append(picked, s)
		}
	}
	if len(picked) == 0 {
		return false
	}
	for _, s := range picked {
		p.pick[s] = true
	}
	for _, l := range [][]int32{g.held, g.heldLive} {
		for _, id := range l {
			p.state[id] = nodeGone
		}
	}
	g.held, g.heldLive = nil, nil
	p.letGo(g.wait, nil)
	p.letGo(g.waitLive, nil)
	g.wait, g.waitLive = nil, nil
	g.needy, g.short, g.shortAlone, g.live, g.liveGain = 0, 0, 0, 0, 0
	for _, s := range picked {
		p.release(s)
	}
	return true
}

// letGo settles the nodes of wait whose parent is gone (all, or those
// whose parent is not marked in keep; the others stay in wait).
func (p *picker) letGo(wait map[uint32][]int32, keep []bool) {
	t := p.t
	for cs, ns := range wait {
		kept := ns[:0]
		for _, c := range ns {
			if keep != nil && keep[t.nodes[c].parent] {
				kept = append(kept, c)
				continue
			}
			p.settle(c)
		}
		if len(kept) == 0 {
			delete(wait, cs)
		} else {
			wait[cs] = kept
		}
	}
}

// settle places open node c, whose parent is now gone: gone too if its
// segment is picked (and so on down), held by its segment's group if it
// has one, else left open (its segment's join holds it).
func (p *picker) settle(c int32) {
	t := p.t
	p.settleNext = append(p.settleNext[:0], c)
	for len(p.settleNext) > 0 {
		id := p.settleNext[len(p.settleNext)-1]
		p.settleNext = p.settleNext[:len(p.settleNext)-1]
		if p.state[id] != nodeOpen {
			continue
		}
		p.visits++
		s := t.nodes[id].seg
		if p.pick[s] {
			p.state[id] = nodeGone
			for k := t.nodes[id].child; k != 0; k = t.nodes[k].sibling {
				p.settleNext = append(p.settleNext, k)
			}
			continue
		}
		if g := p.groupOf(s); g != nil {
			p.hold(id, g, false)
			p.queue(g)
		}
	}
}

// release tells the groups with nodes waiting for segment s, now
// picked, to hold them.
func (p *picker) release(s uint32) {
	for _, r := range p.waiting[s] {
		g := p.groupOf(r)
		var ready []pickStep
		for i, m := range []map[uint32][]int32{g.wait, g.waitLive} {
			for _, c := range m[s] {
				ready = append(ready, pickStep{c, i == 1})
			}
			delete(m, s)
		}
		for _, st := range ready {
			p.hold(st.node, g, st.via)
		}
		if len(ready) > 0 {
			p.queue(g)
		}
	}
	delete(p.waiting, s)
}
