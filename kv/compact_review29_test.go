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
	"math/rand/v2"
	"os"
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
	full, got, p, q := review28BudgetCase(t, true)
	require.True(t, full[p] && full[q], "P and Q pay together")
	require.True(t, got[q], "Q (needy, paying with P) not picked: one heartbeat key put it in the chain's cut component")
}
