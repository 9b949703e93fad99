package kv

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// compactDead picks every segment of deadBySegment's map dead enough,
// plus its needs, and that map holds the active segment too. So an
// active segment dead enough pulls in the sealed segments holding older
// versions of its dead keys, though none of them is dead enough and the
// active segment itself cannot be compacted: each look (every 5 s under
// writes) rewrites whole sealed segments to drop a version or two of
// each, again and again while the active segment fills. Before this
// change (and in the previous commit, which looked at the manifest's
// sealed segments only) no sealed segment below CompactAt was touched.
func TestReview17ActiveSegmentPullsSealedSegmentsBelowCompactAt(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(7, 8))
	const segs, rounds = 4, 4
	for j := range segs { // sealed segments of live keys, and a few keys updated later
		for i := range 100 {
			mustPut(t, db, "r", fmt.Sprintf("s%du%d", j, i), String(randString(rng, 200)))
		}
		for r := range rounds {
			mustPut(t, db, "r", fmt.Sprintf("s%dk%d", j, r), String(randString(rng, 200)))
		}
		rollNow(t, db)
	}
	sealed := slices.Sorted(maps.Keys(db.segs.Load().sealed))
	require.Len(t, sealed, segs)
	rewritten := 0
	for r := range rounds {
		// Under writes: a key of each sealed segment updated three times.
		for j := range segs {
			for range 3 {
				mustPut(t, db, "r", fmt.Sprintf("s%dk%d", j, r), String(randString(rng, 200)))
			}
		}
		dead := db.deadBySegment(db.retention())
		for id, sh := range dead {
			if db.segs.Load().sealed[id] != nil {
				require.Less(t, float64(sh.dead), 0.1*float64(sh.all), "sealed segment %d is far from dead enough", id)
			}
		}
		active := db.segs.Load().active.ID()
		require.GreaterOrEqual(t, float64(dead[active].dead), 0.5*float64(dead[active].all), "the active segment is dead enough")
		db.backgroundPass()
		require.Equal(t, active, db.segs.Load().active.ID(), "no roll")
		now := slices.Sorted(maps.Keys(db.segs.Load().sealed))
		for _, id := range sealed {
			if !slices.Contains(now, id) {
				rewritten++
			}
		}
		sealed = now
	}
	require.Zero(t, rewritten, "sealed segments rewritten though none was dead enough (%d looks, %d segments)", rounds, segs)
}

// One key updated now and then (a heartbeat, a counter, a "last seen")
// leaves a droppable version in every segment of live data. A segment
// dead enough by its own keys (here, one key's superseded versions, all
// in it) then needs every one of those segments, for the key's single
// small version in it: the look rewrites the whole database to reclaim
// one segment, though compacting that segment alone would reclaim all
// but one entry of its dead bytes. And again at the next dead segment:
// every segment written since holds a version of the key. (The needs are
// pulled whatever the bytes that depend on them.)
func TestReview17OneHotKeyPullsEverySegment(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(9, 10))
	const live = 10
	for j := range live { // segments of live keys, and a heartbeat each
		for i := range 100 {
			mustPut(t, db, "r", fmt.Sprintf("s%du%d", j, i), String(randString(rng, 200)))
		}
		mustPut(t, db, "r", "hb", Int(int64(j)))
		rollNow(t, db)
	}
	liveSegs := slices.Sorted(maps.Keys(db.segs.Load().sealed))
	require.Len(t, liveSegs, live)
	for range 30 { // a segment of one key's versions: dead enough alone
		mustPut(t, db, "r", "big", String(randString(rng, 200)))
	}
	mustPut(t, db, "r", "hb", Int(100))
	rollNow(t, db)
	mustPut(t, db, "r", "hb", Int(101))

	before := db.Stats()
	dead := db.deadBySegment(db.retention())
	var pulled int64
	for _, id := range liveSegs {
		pulled += dead[id].all
		require.Less(t, float64(dead[id].dead), 0.02*float64(dead[id].all), "segment %d: live but for one heartbeat", id)
	}
	db.backgroundPass()
	after := db.Stats()
	reclaimed := before.LiveBytes + before.DeadBytes - after.LiveBytes - after.DeadBytes
	kept := 0
	for _, id := range liveSegs {
		if db.segs.Load().sealed[id] != nil {
			kept++
		}
	}
	require.Equal(t, live, kept, "the look rewrote %d segments of live keys (%d bytes) to reclaim %d bytes", live-kept, pulled, reclaimed)
}

// deadBySegment records, for each segment, every older segment holding a
// droppable version of a key it holds one of: a key with droppable
// versions in s segments costs s(s-1)/2 entries of the segments' needs
// maps, at every walk (every background look under writes, every
// Stats). A key updated once a segment, in a database whose segments
// are otherwise live (nothing dead enough to compact it away), makes a
// walk's memory quadratic in the number of segments.
func TestReview17DeadWalkIsQuadraticInSegments(t *testing.T) {
	db := openT(t, &Options{Durability: InMemory, SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	const segs = 2000
	pad := String(string(make([]byte, 400)))
	for j := range segs {
		mustPut(t, db, "r", fmt.Sprintf("u%d", j), pad) // live
		mustPut(t, db, "r", "hb", Int(int64(j)))
		rollNow(t, db)
	}
	pol := db.retention()
	db.deadBySegment(pol) // warm
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	db.deadBySegment(pol)
	took := time.Since(start)
	runtime.ReadMemStats(&m1)
	alloc := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("%d segments: one walk of %d keys allocated %d KiB in %v", segs, segs+1, alloc>>10, took)
	require.Less(t, alloc, uint64(16<<20), "one walk of %d keys allocated %d MiB", segs+1, alloc>>20)
}
