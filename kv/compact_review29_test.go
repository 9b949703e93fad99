package kv

// The twenty-ninth review's findings on 7b831d0: four reads a key spent
// the segment's sample of 256 on fewer keys, and the unread ones counted
// at a mean the keys written often skewed (fixed: a key's first read
// comes from the sample, one a key, its further ones from an allowance
// of their own, and the mean is of first reads); and one key updated in
// every segment joins them all into one component, so pickBudget's cut
// still holds back every needy segment (not fixed: kept, skipped unless
// STRATA_KNOWN_DEFECTS=1, with review 27's alternating chain).

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// 1. The sampler's budget of 256 reads a segment now goes four to a key:
// a segment of 250 keys with dead versions (100 counters written 40
// times each, 150 documents of 2 KB overwritten since), which 81f4466
// read key by key in full, now has only about 110 keys read; the
// unread counters' 2,000-odd versions count at the sample's mean, which
// the documents make about 630 bytes where a counter value is 9. The
// segment (about 1 MB, 40% dead) is estimated all dead: Stats.DeadBytes
// is 2.7x too high and the look rewrites it alone for 36% of it
// (CompactAt 0.5).
func TestReview29FourReadsAKeyInflateASmallSegment(t *testing.T) {
	const at = 0.5
	db := openT(t, &Options{SegmentSize: 4 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: at})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(29, 1))
	const hot, writes, cold = 100, 40, 150
	putKeys(t, db, rng, "v", 3000) // live for good (about 660 KB)
	for i := range cold {
		mustPut(t, db, "r", fmt.Sprintf("c%d", i), String(randString(rng, 2000)))
	}
	for w := range writes {
		for i := range hot {
			mustPut(t, db, "r", fmt.Sprintf("h%d", i), Int(int64(w)))
		}
	}
	b := review22Segment(t, db)
	for i := range cold { // the documents' versions in b: dead now
		mustPut(t, db, "r", fmt.Sprintf("c%d", i), Int(1))
	}
	// What may go of b, at most: each dead version's key, value (a
	// counter's at most 16 bytes) and entryOverhead.
	truth := int64(hot*(writes-1)*(4+16+16) + cold*(4+2000+16))
	pol := db.retention()
	dead := db.deadBySegment(pol)
	st := db.Stats()
	t.Logf("b %d: %+v (at most %d dead, %.0f%%); Stats.DeadBytes %d", b, dead[b], truth,
		100*float64(truth)/float64(dead[b].all), st.DeadBytes)
	require.Less(t, float64(truth), at*float64(dead[b].all), "b is short of CompactAt")
	gone, rewritten, reclaimed := review25Look(t, db)
	t.Logf("the look rewrote %v (%d bytes) to reclaim %d bytes", gone, rewritten, reclaimed)
	require.LessOrEqual(t, float64(dead[b].dead), 1.25*float64(truth),
		"deadBySegment weighs b's dead versions at %d bytes, at most %d", dead[b].dead, truth)
	require.NotNil(t, db.segs.Load().sealed[b],
		"b (%d bytes, at most %d dead) rewritten alone, reclaiming %d", dead[b].all, truth, reclaimed)
}

// 2. The components do not keep a cut apart once one key joins them.
// Review 28's third case (a 200-group alternating chain that crosses
// pickBudget, and beside it a needy Q that pays with the P it needs),
// with one more key: a heartbeat updated once in every segment (30 bytes
// a version), as any database has. Its path joins every segment into
// one component; without the budget P and Q are still picked, with it
// the cut of that one component drops them, look after look, as before
// 7b831d0.
func TestReview29HeartbeatJoinsTheCutComponent(t *testing.T) {
	if os.Getenv("STRATA_KNOWN_DEFECTS") == "" {
		t.Skip("a known defect (pickBudget's cut holds back a component joined by one key); STRATA_KNOWN_DEFECTS=1 runs it")
	}
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
	p, q := uint32(pad+2*groups+1), uint32(pad+2*groups+2)
	sizes[p], sizes[q] = 10000, 10000
	paths = append(paths, []uint32{p, q})
	bytes = append(bytes, -2)
	paths = append(paths, upTo(int(q))) // the heartbeat
	bytes = append(bytes, 30)
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
	full := map[uint32]bool{}
	passes := trie.pickNeeded(full, order, size, 0.5)
	t.Logf("trie of %d nodes: without the budget, %d passes, picked %v", len(trie.nodes), passes, slices.Sorted(maps.Keys(full)))
	require.True(t, full[p] && full[q], "P and Q pay together")

	pickBudget = 64 << 20
	got := map[uint32]bool{}
	passes = trie.pickNeeded(got, order, size, 0.5)
	t.Logf("with the budget (%d node visits): %d passes, picked %v", pickBudget, passes, slices.Sorted(maps.Keys(got)))
	require.True(t, got[q], "Q (needy, paying with P) not picked: one heartbeat key put it in the chain's cut component")
}
