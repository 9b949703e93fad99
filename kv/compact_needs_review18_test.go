package kv

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// liveSegmentsWithSmallKeys writes n sealed segments of live keys, each
// also holding a version of each of the small keys h0..h(small-1) (a
// heartbeat, a counter), and returns the segments.
func liveSegmentsWithSmallKeys(t *testing.T, db *DB, rng *rand.Rand, n, small int) []uint32 {
	t.Helper()
	for j := range n {
		for i := range 100 {
			mustPut(t, db, "r", fmt.Sprintf("s%du%d", j, i), String(randString(rng, 200)))
		}
		for h := range small {
			mustPut(t, db, "r", fmt.Sprintf("h%d", h), Int(int64(j)))
		}
		rollNow(t, db)
	}
	segs := slices.Sorted(maps.Keys(db.segs.Load().sealed))
	require.Len(t, segs, n)
	return segs
}

// keptOf returns how many of segs are still in the sealed table.
func keptOf(db *DB, segs []uint32) int {
	kept := 0
	for _, id := range segs {
		if db.segs.Load().sealed[id] != nil {
			kept++
		}
	}
	return kept
}

// alone is a share by count, compared against a share by bytes: a
// segment whose dead bytes are nearly all a few big versions a job on it
// alone drops, plus a handful of tiny dependent versions (a heartbeat's,
// a counter's), is "needy" (dead*alone < CompactAt*all) and pulls every
// older segment holding those tiny keys' versions: here ten segments of
// live keys rewritten to reclaim a few dozen bytes more than the job on
// the dead segment alone would (it drops over 99% of the dead bytes).
// This is TestReview17OneHotKeyPullsEverySegment with ten small keys
// instead of one.
func TestReview18AloneByCountPullsLiveSegments(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(11, 12))
	const live, small = 10, 10
	liveSegs := liveSegmentsWithSmallKeys(t, db, rng, live, small)
	for range 5 { // big versions, all in one segment: a job on it alone drops them
		mustPut(t, db, "r", "big", String(randString(rng, 8<<10)))
	}
	for h := range small { // tiny versions whose keys began in every live segment
		mustPut(t, db, "r", fmt.Sprintf("h%d", h), Int(100))
	}
	rollNow(t, db)
	bigSeg := db.set.man.Segments[len(db.set.man.Segments)-1].ID
	mustPut(t, db, "r", "big", Int(0))
	for h := range small {
		mustPut(t, db, "r", fmt.Sprintf("h%d", h), Int(101))
	}

	dead := db.deadBySegment(db.retention())
	sh := dead[bigSeg]
	require.GreaterOrEqual(t, float64(sh.dead), 0.95*float64(sh.all), "the segment is all but dead")
	t.Logf("dead segment: dead %d of %d bytes, %d of them dependent; the dependent versions are %d tiny entries",
		sh.dead, sh.all, sh.dep, small)
	var pulled int64
	for _, id := range liveSegs {
		pulled += dead[id].all
		require.Less(t, float64(dead[id].dead), 0.05*float64(dead[id].all), "segment %d: live but for the small keys", id)
	}
	before := db.Stats()
	db.backgroundPass()
	after := db.Stats()
	reclaimed := before.LiveBytes + before.DeadBytes - after.LiveBytes - after.DeadBytes
	require.NotContains(t, db.segs.Load().sealed, bigSeg, "the dead segment was compacted")
	kept := keptOf(db, liveSegs)
	require.Equal(t, live, kept, "the look rewrote %d segments of live keys (%d bytes) to reclaim %d bytes, nearly all in the dead segment",
		live-kept, pulled, reclaimed)
}

// A segment that does need an older one (its dead versions' keys began
// there: alone is 0) pulls, besides it, every segment holding an older
// version of any key it holds a droppable version of, whatever that
// version's bytes: one heartbeat key updated once a segment drags ten
// segments of live keys into the look, though the segment it really
// needs is dead enough and picked anyway (the heartbeat's one tiny entry
// is all that compacting the two would leave).
func TestReview18NeedyHotKeyPullsEverySegment(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(13, 14))
	const live = 10
	liveSegs := liveSegmentsWithSmallKeys(t, db, rng, live, 1)
	put := func() {
		for i := range 50 {
			mustPut(t, db, "r", fmt.Sprintf("k%d", i), String(randString(rng, 200)))
		}
	}
	put() // the k keys' first versions: a segment of its own
	rollNow(t, db)
	first := db.set.man.Segments[len(db.set.man.Segments)-1].ID
	put() // their second versions, and the heartbeat's
	mustPut(t, db, "r", "h0", Int(100))
	rollNow(t, db)
	second := db.set.man.Segments[len(db.set.man.Segments)-1].ID
	put() // live
	mustPut(t, db, "r", "h0", Int(101))

	dead := db.deadBySegment(db.retention())
	for _, id := range []uint32{first, second} {
		require.GreaterOrEqual(t, float64(dead[id].dead), 0.9*float64(dead[id].all), "segment %d is dead", id)
	}
	var pulled int64
	for _, id := range liveSegs {
		pulled += dead[id].all
	}
	before := db.Stats()
	db.backgroundPass()
	after := db.Stats()
	reclaimed := before.LiveBytes + before.DeadBytes - after.LiveBytes - after.DeadBytes
	require.NotContains(t, db.segs.Load().sealed, first)
	require.NotContains(t, db.segs.Load().sealed, second)
	kept := keptOf(db, liveSegs)
	require.Equal(t, live, kept, "the look rewrote %d segments of live keys (%d bytes) for one heartbeat's versions (reclaimed %d bytes)",
		live-kept, pulled, reclaimed)
}
