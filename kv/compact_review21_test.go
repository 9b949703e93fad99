package kv

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// review21Job is what one background look rewrote.
type review21Job struct {
	look      int
	rewritten []uint32
	reclaimed int64
}

// review21Looks runs n background looks, a small commit before each (a
// live database: a look every 5 s and at every roll), and returns the
// looks that rewrote segments.
func review21Looks(t *testing.T, db *DB, n int) []review21Job {
	t.Helper()
	var jobs []review21Job
	for look := range n {
		mustPut(t, db, "r", "z", Int(int64(look)))
		before := slices.Sorted(maps.Keys(db.segs.Load().sealed))
		st := db.Stats()
		db.backgroundPass()
		after := db.Stats()
		var gone []uint32
		for _, id := range before {
			if db.segs.Load().sealed[id] == nil {
				gone = append(gone, id)
			}
		}
		if len(gone) > 0 {
			jobs = append(jobs, review21Job{look, gone, st.LiveBytes + st.DeadBytes - after.LiveBytes - after.DeadBytes})
			t.Logf("look %d rewrote %v, reclaiming %d bytes", look, gone, st.LiveBytes+st.DeadBytes-after.LiveBytes-after.DeadBytes)
		}
	}
	return jobs
}

// review21LiveSegments writes one sealed segment of n live keys for
// each n of sizes, each also holding one version of the heartbeat key
// h0, and returns the segments.
func review21LiveSegments(t *testing.T, db *DB, rng *rand.Rand, sizes ...int) []uint32 {
	t.Helper()
	for j, n := range sizes {
		for i := range n {
			mustPut(t, db, "r", fmt.Sprintf("s%du%d", j, i), String(randString(rng, 200)))
		}
		mustPut(t, db, "r", "h0", Int(int64(j)))
		rollNow(t, db)
	}
	segs := slices.Sorted(maps.Keys(db.segs.Load().sealed))
	require.Len(t, segs, len(sizes))
	return segs
}

// review21BusyHeartbeat writes a segment of the heartbeat's versions
// (dead but for the newest, which goes to the active segment after it):
// needy, each of its dead versions needing every live segment.
func review21BusyHeartbeat(t *testing.T, db *DB, rng *rand.Rand, liveSegs []uint32) uint32 {
	t.Helper()
	for range 100 {
		mustPut(t, db, "r", "h0", String(randString(rng, 200)))
	}
	rollNow(t, db)
	needy := newestSegment(db)
	mustPut(t, db, "r", "h0", Int(-1))
	dead := db.deadBySegment(db.retention())
	require.GreaterOrEqual(t, float64(dead[needy].dead), 0.9*float64(dead[needy].all))
	require.Equal(t, dead[needy].dead, dead[needy].dep, "every dead version of it needs older segments")
	for _, id := range liveSegs {
		require.Less(t, float64(dead[id].dead), 0.01*float64(dead[id].all), "segment %d: live but for one heartbeat", id)
	}
	return needy
}

// freedWith once credited a needy segment's versions to their key's oldest
// segment alone, though they go only once every segment between is
// compacted too (a4e3a57). A heartbeat key updated once in each of ten
// segments of live keys, then busy for a while (a segment of its
// versions: needy, needing all ten): the oldest live segment is picked on
// that credit, rewritten by itself to drop its one heartbeat version, and
// at the next look the next one, and so on: nine looks each rewrite a
// segment of live keys alone for a few bytes. (Whether the ten should go
// with the needy segment in one job or wait, none is worth a job alone.)
func TestReview21CreditRewritesLiveSegmentsOneALook(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(21, 1))
	liveSegs := review21LiveSegments(t, db, rng, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100)
	review21BusyHeartbeat(t, db, rng, liveSegs)
	alone := 0
	for _, j := range review21Looks(t, db, len(liveSegs)) {
		if len(j.rewritten) == 1 && slices.Contains(liveSegs, j.rewritten[0]) {
			alone++
		}
	}
	require.Zero(t, alone, "%d looks each rewrote a segment of 100 live keys by itself, to drop one heartbeat version", alone)
}

// The same where one segment between is too large for the credit: the
// looks rewrite the live segments before it one by one, each for one
// heartbeat version, then stop for good, and the needy segment they were
// rewritten for is never compacted: work for nothing.
func TestReview21CreditRewritesLiveSegmentsForNothing(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(21, 2))
	liveSegs := review21LiveSegments(t, db, rng, 40, 40, 40, 40, 40, 260)
	needy := review21BusyHeartbeat(t, db, rng, liveSegs)
	jobs := review21Looks(t, db, 10)
	require.Contains(t, db.segs.Load().sealed, needy, "the needy segment waits (the large segment is not worth it)")
	var wasted []uint32
	var reclaimed int64
	for _, j := range jobs {
		wasted = append(wasted, j.rewritten...)
		reclaimed += j.reclaimed
	}
	require.Empty(t, wasted, "segments of live keys rewritten for a needy segment that stays: %d bytes reclaimed in all", reclaimed)
}

// review21PinnedOverwrites writes segs segments of hot overwrites (hot
// keys, one version each a segment) while a View holds a snapshot from
// before them (a backup, an export), then ends the View: every segment
// but the last is dead at once, the first alone, the others needy, each
// needing all before it.
func review21PinnedOverwrites(t testing.TB, segs, hot int) *DB {
	t.Helper()
	db := openT(t, &Options{Durability: InMemory, SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	t.Cleanup(func() { <-db.compact.sem })
	rng := rand.New(rand.NewPCG(21, 3))
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() { done <- db.View(func(*Txn) error { close(held); <-release; return nil }) }()
	<-held
	for range segs {
		for i := range hot {
			mustPut(t, db, "r", fmt.Sprintf("h%d", i), String(randString(rng, 100)))
		}
		rollNow(t, db)
	}
	close(release)
	require.NoError(t, <-done)
	return db
}

// compactDead's fixpoint went over every needy segment, in map order,
// until a round picked nothing more, checking each of its needs sets
// (slices.ContainsFunc over up to all older segments) at every round: a
// chain of s needy segments, each needing those before it, took about s
// rounds of s segments of up to s checks, O(s^3). A long snapshot ending
// over a hot key set makes every segment written meanwhile dead at once:
// the first look then spent seconds choosing (the background goroutine
// holds compact.sem all along, so Compact waits). The review measured a
// look over 300 and 1200 such segments (10 hot keys): 63 ms and 1.87 s,
// 30x for 4x the segments. Needy segments are now decided in one pass,
// oldest first; BenchmarkLookNeedyChain measures it (the fixed code:
// 22 ms and 95 ms). Here: one look compacts the whole chain.
func TestReview21FixpointIsCubicInNeedySegments(t *testing.T) {
	db := review21PinnedOverwrites(t, 1200, 10)
	db.backgroundPass()
	require.Zero(t, db.Stats().DeadBytes, "the look compacted them all")
}

// BenchmarkLookNeedyChain measures a background look over a chain of
// needy segments (see TestReview21FixpointIsCubicInNeedySegments): its
// time should grow about as the segments do.
func BenchmarkLookNeedyChain(b *testing.B) {
	for _, segs := range []int{300, 1200} {
		b.Run(fmt.Sprint(segs), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := review21PinnedOverwrites(b, segs, 10) // closed when b ends
				b.StartTimer()
				db.backgroundPass()
				b.StopTimer()
				if db.Stats().DeadBytes != 0 {
					b.Fatal("the look left dead bytes")
				}
				b.StartTimer()
			}
		})
	}
}
