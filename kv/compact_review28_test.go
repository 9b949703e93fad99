package kv

// The twenty-eighth review's findings on 02dfa0b, fixed since: a key's
// versions in a segment counted at the length of one read (600 counters
// then a document as 601 documents) made a segment worth a job alone
// look needy (its dep clamped to an inflated dead) or made one of live
// keys look all dead; now a key's newest four values in a segment are
// read and its older ones count at the last. And the budget's cut held
// back every needy segment of the database; now each component of the
// trie (segments joined by paths) has its own passes and budget.

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// 1. The clamp on dep hides a segment's own dead bytes. deadBySegment now
// clamps dead to the segment's bytes, then dep to dead. Where one key's
// versions are over-weighed (600 counter values then a document, read as
// 601 documents: review 27's second finding) and they need an older
// segment, dep (4.8 MB estimated) swallows the whole of dead, so
// dead-dep is 0: a segment whose own dead bytes (other keys overwritten
// within it, 57% of it) make it worth a job alone is only needy. In the
// trie, the proportional scaling of its nodes to its dead bytes then
// shrinks those other keys' node to about 1% of their bytes, so it never
// pays either: the look rewrites nothing, and the segment keeps its dead
// half for good (before 02dfa0b it was picked alone).
func TestReview28DepClampHidesOwnDeadBytes(t *testing.T) {
	const at = 0.5
	db := openT(t, &Options{SegmentSize: 4 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: at})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(28, 1))
	putKeys(t, db, rng, "big", 2000) // live for good
	mustPut(t, db, "r", "k", String(randString(rng, 8000)))
	a := review22Segment(t, db)
	for i := range 600 {
		mustPut(t, db, "r", "k", Int(int64(i))) // a counter
	}
	mustPut(t, db, "r", "k", String(randString(rng, 8000))) // then a document
	for range 4 {
		putKeys(t, db, rng, "o", 100) // three of four dead, all within b
	}
	b := review22Segment(t, db)
	mustPut(t, db, "r", "k", Int(-1)) // k's versions in a and b: dead now

	pol := db.retention()
	dead := db.deadBySegment(pol)
	t.Logf("a %d: %+v; b %d: %+v", a, dead[a], b, dead[b])
	// b's own dead: 300 of the o keys' 400 versions (about 3/4 of 116 KB
	// less k's versions): at least CompactAt of b on their own.
	own := int64(300 * (200 + 2 + 16))
	require.GreaterOrEqual(t, float64(own), at*float64(dead[b].all), "b's own dead bytes are worth a job alone")

	gone, rewritten, reclaimed := review25Look(t, db)
	t.Logf("the look rewrote %v (%d bytes) to reclaim %d bytes", gone, rewritten, reclaimed)
	require.True(t, db.segs.Load().sealed[b] == nil,
		"b (%d bytes, at least %d dead with no older segment needed) not rewritten: deadBySegment says dead %d, dep %d",
		dead[b].all, own, dead[b].dead, dead[b].dep)
}

// 2. A segment is still picked alone for little. Review 27's over-weighed
// key (600 counter values then a document, read as 601 documents) was
// fixed in the trie only: deadBySegment clamps the estimate to the
// segment's bytes, so a segment of live keys holding such a key's
// versions (its oldest droppable ones: none is dep) is estimated all
// dead, picked alone (dead-dep >= CompactAt) and rewritten, 116 KB for
// about 23 KB (20%, with CompactAt 0.5); Stats.DeadBytes says all of it
// is dead.
func TestReview28OverWeighedKeyRewritesASegmentAlone(t *testing.T) {
	const at = 0.5
	db := openT(t, &Options{SegmentSize: 4 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: at})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(28, 2))
	putKeys(t, db, rng, "v", 400) // live for good
	for i := range 600 {
		mustPut(t, db, "r", "k", Int(int64(i))) // a counter
	}
	mustPut(t, db, "r", "k", String(randString(rng, 8000))) // then a document
	b := review22Segment(t, db)
	mustPut(t, db, "r", "k", Int(-1)) // k's versions in b: dead now

	dead := db.deadBySegment(db.retention())
	st := db.Stats()
	t.Logf("b %d: %+v; Stats.DeadBytes %d", b, dead[b], st.DeadBytes)
	gone, rewritten, reclaimed := review25Look(t, db)
	t.Logf("the look rewrote %v (%d bytes) to reclaim %d bytes", gone, rewritten, reclaimed)
	require.GreaterOrEqual(t, float64(reclaimed), at*float64(rewritten),
		"rewrote %d bytes to reclaim %d (CompactAt %v); deadBySegment said %d of %d dead, Stats.DeadBytes %d",
		rewritten, reclaimed, at, dead[b].dead, dead[b].all, st.DeadBytes)
}

// 3. The budget's cut holds back every needy segment of the database.
// Past pickBudget node visits a look picks nothing beyond what is worth a
// job alone: not only the alternating chain that takes the passes
// (review 27's pipeline, 200 groups), but a needy segment Q and the
// segment P it needs, which pay together whatever the chain does (no
// path joins them). The trie needs only some 400 K nodes for 200 passes
// to cross the budget: here 405 K of keys overwritten across 900 large
// live segments (as in any database of a few hundred thousand keys under
// updates). The next look builds the same trie and is cut the same way,
// so Q's dead bytes stay for good, and every needy segment written after
// it joins them.
func TestReview28BudgetCutHoldsBackUnrelatedNeedySegments(t *testing.T) {
	full, got, p, q := review28BudgetCase(t, false)
	require.Equal(t, map[uint32]bool{p: true, q: true}, full, "P and Q pay together")
	require.True(t, got[q], "Q (needy, paying with P) not picked: the alternating chain elsewhere cut the look")
}

// review28BudgetCase builds the trie of review 28's third case (with a
// heartbeat key in every segment if heartbeat) and returns what
// pickNeeded picks without the budget and with it, and P and Q.
func review28BudgetCase(t *testing.T, heartbeat bool) (full, got map[uint32]bool, p, q uint32) {
	t.Helper()
	const pad, groups = 900, 200
	var paths [][]uint32
	var bytes []int64 // a path's nodes' bytes, all alike
	sizes := map[uint32]int64{}
	for a := uint32(1); a <= pad; a++ { // live segments, a few droppable versions each
		sizes[a] = 1 << 30
		for b := a + 1; b <= pad; b++ {
			paths = append(paths, []uint32{a, b})
			bytes = append(bytes, 100)
		}
	}
	l := func(i int) uint32 { return uint32(pad + i) }          // ingest segments L1..Ln
	n := func(i int) uint32 { return uint32(pad + groups + i) } // processing segments N1..Nn
	for i := 1; i <= groups; i++ {
		sizes[l(i)], sizes[n(i)] = 39000, 17600
		if i < groups {
			paths = append(paths, []uint32{l(i), l(i + 1), n(i)})
		} else {
			paths = append(paths, []uint32{l(i), n(i)})
		}
		bytes = append(bytes, -1)
	}
	sizes[l(1)] = 1 << 40 // a huge live load
	p, q = uint32(pad+2*groups+1), uint32(pad+2*groups+2)
	sizes[p], sizes[q] = 10000, 10000
	paths = append(paths, []uint32{p, q})
	bytes = append(bytes, -2)
	if heartbeat {
		paths = append(paths, upTo(int(q))) // a key updated in every segment
		bytes = append(bytes, 30)
	}
	trie := trieOf(paths, func(k, i int) int64 {
		switch {
		case bytes[k] > 0:
			return bytes[k]
		case bytes[k] == -2: // P: 1,000 of its own, Q: 8,000 (needy)
			return []int64{1000, 8000}[i]
		case i == len(paths[k])-1: // a group's burst in its N
			return 13200
		}
		return 4400 // a group's record, its update
	})
	order := upTo(int(q))
	size := func(s uint32) int64 { return sizes[s] }

	defer func(b int64) { pickBudget = b }(pickBudget)
	pickBudget = 1 << 62
	full = map[uint32]bool{}
	passes := trie.pickNeeded(full, order, size, 0.5)
	t.Logf("trie of %d nodes: without the budget, %d passes, picked %v", len(trie.nodes), passes, slices.Sorted(maps.Keys(full)))
	pickBudget = 64 << 20
	got = map[uint32]bool{}
	passes = trie.pickNeeded(got, order, size, 0.5)
	t.Logf("with the budget (%d node visits): %d passes, picked %v", pickBudget, passes, slices.Sorted(maps.Keys(got)))
	return full, got, p, q
}
