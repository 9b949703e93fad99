package kv

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The twenty-sixth review's findings on fa6e45f (pickNeeded: a live
// segment got a share of what needs it; a needy one all of it), fixed
// since: a share goes to every segment short of CompactAt with its own
// versions, needy or live; the trie samples a key's versions newest
// first, as deadBySegment does; and a pass over the trie sweeps from the
// newest segment, letting each go as soon as it does not pay.

// 1. Double counting along a path of needy segments. Review 25's first
// defect (a version credited in full to every live segment on its path)
// is fixed for live segments only: a needy segment is still credited in
// full with every going version below it. Twenty needy segments B1..B20
// (about 20 KB each, two thirds dead, but their dead versions are
// overwrites of keys of a huge live segment L that does not pay, so they
// stay) each hold one version of a heartbeat key, then busy for a while
// (a needy segment C of its versions, 22 KB). Each Bi is credited C's
// 22 KB in full, more than half of its size, so the look rewrites all
// 21 segments (about 420 KB) to reclaim C's 22 KB.
func TestReview26NeedyChainCreditedInFull(t *testing.T) {
	const at = 0.5
	db := openT(t, &Options{SegmentSize: 8 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: at})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(26, 1))
	putKeys(t, db, rng, "x", 5000) // L: live but for the keys the Bs overwrite
	l := review22Segment(t, db)
	var bs []uint32
	for i := range 20 {
		for range 3 { // two dead versions (needing L) and a live one of each key
			for j := range 30 {
				mustPut(t, db, "r", fmt.Sprintf("x%d", i*30+j), String(randString(rng, 200)))
			}
		}
		mustPut(t, db, "r", "h", Int(int64(i)))
		bs = append(bs, review22Segment(t, db))
	}
	for range 100 {
		mustPut(t, db, "r", "h", String(randString(rng, 200)))
	}
	c := review22Segment(t, db)
	mustPut(t, db, "r", "h", Int(-1))
	dead := db.deadBySegment(db.retention())
	t.Logf("L %d: %+v; B1 %d: %+v; B20: %+v; C %d: %+v", l, dead[l], bs[0], dead[bs[0]], dead[bs[19]], c, dead[c])
	gone, rewritten, reclaimed := review25Look(t, db)
	t.Logf("the look rewrote %d segments, %d bytes, to reclaim %d bytes", len(gone), rewritten, reclaimed)
	require.True(t, rewritten == 0 || float64(reclaimed) >= at/4*float64(rewritten),
		"a look rewrote %d needy segments (%d bytes with C) to reclaim %d bytes: each was credited all of C's versions",
		len(bs)-stillSealed(db, bs), rewritten, reclaimed)
}

// 2. The two walks sample different versions. deadBySegment goes over a
// key's droppable versions newest first, needTrie oldest first; each
// reads the first it meets in a segment and counts the key's others there
// at that length. A key k born in L (1,000 live keys, 225 KB) holds in N
// one 8 KB version then 600 of a counter (small values): deadBySegment
// reads a counter value (N is needy, about 12 KB dead), needTrie reads the
// 8 KB one and weighs N's 601 versions at 4.8 MB, all credited to L,
// which is rewritten for the 20 KB that really go (9% of it, CompactAt
// 0.5): review 25's second defect, by another road.
func TestReview26TrieSamplesAnotherVersionThanDeadBySegment(t *testing.T) {
	review26CounterAndDocument(t, 26, false)
}

// review26CounterAndDocument writes L (1,000 live keys and k's first
// version) and N (one 8 KB version of k and 600 counter values, the
// document first or last), makes N's versions dead, runs a look and
// checks that L was not rewritten for them.
func review26CounterAndDocument(t *testing.T, seed uint64, documentLast bool) {
	const at = 0.5
	db := openT(t, &Options{SegmentSize: 4 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: at})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(seed, 2))
	putKeys(t, db, rng, "v", 1000) // live for good
	mustPut(t, db, "r", "k", Int(0))
	l := review22Segment(t, db)
	if !documentLast {
		mustPut(t, db, "r", "k", String(randString(rng, 8000))) // a document
	}
	for i := range 600 {
		mustPut(t, db, "r", "k", Int(int64(i))) // a counter
	}
	if documentLast {
		mustPut(t, db, "r", "k", String(randString(rng, 8000)))
	}
	n := review22Segment(t, db)
	mustPut(t, db, "r", "k", Int(-1)) // N's versions: dead now
	pol := db.retention()
	dead := db.deadBySegment(pol)
	trie := db.needTrie(pol, dead)
	var trieN int64
	for _, id := range trie.bySeg[n] {
		trieN += trie.nodes[id].bytes
	}
	t.Logf("L %d: %+v; N %d: %+v; the trie weighs N's versions at %d bytes", l, dead[l], n, dead[n], trieN)
	gone, rewritten, reclaimed := review25Look(t, db)
	t.Logf("the look rewrote %v (%d bytes) to reclaim %d bytes", gone, rewritten, reclaimed)
	require.NotNil(t, db.segs.Load().sealed[l],
		"L (%d bytes, %d dead) rewritten to reclaim %d bytes: N (%d bytes) weighed at %d bytes in deadBySegment, %d in the trie",
		dead[l].all, dead[l].dead, reclaimed, dead[n].all, dead[n].dead, trieN)
}

// review26Windows writes a big live segment and a needy segment that
// cannot pay for it (as review25Mixed, so that every look builds the
// trie), then segs segments of a time-bucketed counter: the bucket key
// of window w is written 14 times (200-byte values) over a window that
// straddles the roll between segment w and w+1, with 15 live keys (a log)
// in each segment. Each segment is about 45% dead, none worth a job
// (CompactAt 0.5), and none is picked, rightly. It returns the database,
// the trie's nodes and pickNeeded's passes over it.
func review26Windows(t *testing.T, segs int) (*DB, int, int, time.Duration) {
	t.Helper()
	db, rng := review25Prelude(t, 26)
	review26Buckets(t, db, rng, segs)
	pol, err := db.policy()
	require.NoError(t, err)
	dead := db.deadBySegment(pol)
	pick, needy := db.splitDead(dead)
	require.Empty(t, pick, "no segment worth a job alone")
	require.Len(t, needy, 1, "one needy segment (g's)")
	start := time.Now()
	nodes, passes := db.addNeeded(pol, dead, pick)
	took := time.Since(start)
	require.Empty(t, pick, "nothing picked")
	return db, nodes, passes, took
}

// review26Buckets writes segs segments of the time-bucketed counter.
func review26Buckets(t *testing.T, db *DB, rng *rand.Rand, segs int) {
	t.Helper()
	for s := range segs {
		for range 7 { // the end of the previous window
			mustPut(t, db, "r", fmt.Sprintf("bucket%d", s-1), String(randString(rng, 200)))
		}
		putKeys(t, db, rng, fmt.Sprintf("log%d-", s), 15)
		for range 7 { // the start of this one
			mustPut(t, db, "r", fmt.Sprintf("bucket%d", s), String(randString(rng, 200)))
		}
		rollNow(t, db)
	}
}

// 3. Passes growing with the segments. Under a time-bucketed counter
// whose windows straddle the rolls, each segment pays (its own dead
// versions and those of its bucket in the next segment, about 65% of it)
// only while the segment after it is in: the newest does not (its
// bucket's next versions are yet to come), so each round lets go of the
// newest segment left, and pickNeeded makes a pass over the trie for
// each segment: its cost is quadratic in the segments, on a steady
// pattern (review 25's standard: fewer than twice the passes for four
// times the segments).
func TestReview26PassesGrowWithSegments(t *testing.T) {
	var rounds [2]int
	for i, segs := range []int{300, 1200} {
		db, nodes, r, took := review26Windows(t, segs)
		rounds[i] = r
		start := time.Now()
		db.backgroundPass()
		t.Logf("%d segments: trie %d nodes, pickNeeded %d passes over it (%v); a look %v, dead bytes %d",
			segs, nodes, r, took, time.Since(start), db.Stats().DeadBytes)
	}
	require.Less(t, rounds[1], 2*rounds[0], "passes over the trie grow with the segments")
}
