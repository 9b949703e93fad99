package kv

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// review22Segment rolls and returns the segment just sealed.
func review22Segment(t *testing.T, db *DB) uint32 {
	t.Helper()
	rollNow(t, db)
	return newestSegment(db)
}

// In 7ba5001, freedWith credited a version of a needy segment to its
// key's oldest segment when every segment between was needy (chain), but
// the second pass picked a needy segment only on its own merits: where
// one needy segment between (n1) was not picked, the versions credited
// (n2's) did not go, yet the oldest segment (a, live but for one
// heartbeat version) was picked on their credit and rewritten alone, for
// that one version. n2 then waited for good (n1 is not worth it even with
// n2 behind it): a segment of live keys rewritten for a needy segment
// that stays, as in TestReview21CreditRewritesLiveSegmentsForNothing, one
// needy segment further along the chain. Nor may n1 be rewritten in n2's
// group while b stays: only its one heartbeat version would go.
func TestReview22CreditThroughANeedySegmentNotPicked(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(22, 1))
	putKeys(t, db, rng, "u", 250) // live for good
	putKeys(t, db, rng, "m", 20)
	b := review22Segment(t, db)
	putKeys(t, db, rng, "a", 40) // live for good
	mustPut(t, db, "r", "h0", String(randString(rng, 200)))
	a := review22Segment(t, db)
	for range 4 {
		putKeys(t, db, rng, "m", 20) // needing b, which is not worth a job
	}
	mustPut(t, db, "r", "h0", String(randString(rng, 200)))
	n1 := review22Segment(t, db)
	for range 30 {
		mustPut(t, db, "r", "h0", String(randString(rng, 200)))
	}
	n2 := review22Segment(t, db)
	putKeys(t, db, rng, "m", 20)
	mustPut(t, db, "r", "h0", Int(-1))

	dead := db.deadBySegment(db.retention())
	for _, id := range []uint32{b, a, n1, n2} {
		t.Logf("segment %d: %+v", id, dead[id])
	}
	require.Less(t, float64(dead[a].dead), 0.05*float64(dead[a].all), "a: live but for one heartbeat version")
	for _, id := range []uint32{n1, n2} {
		require.GreaterOrEqual(t, float64(dead[id].dead), 0.5*float64(dead[id].all), "segment %d is needy", id)
		require.Less(t, float64(dead[id].dead-dead[id].dep), 0.05*float64(dead[id].all), "segment %d is needy", id)
	}

	jobs := review21Looks(t, db, 10)
	sealed := db.segs.Load().sealed
	if _, stays := sealed[n2]; stays {
		for _, j := range jobs {
			require.NotContains(t, j.rewritten, a,
				"look %d rewrote the live segment %d (reclaiming %d bytes: its one heartbeat version) on the credit of needy segment %d's versions, which stays",
				j.look, a, j.reclaimed, n2)
		}
	}
	if _, stays := sealed[b]; stays {
		for _, j := range jobs {
			require.NotContains(t, j.rewritten, n1,
				"look %d rewrote needy segment %d (reclaiming %d bytes) though its m versions need segment %d, not compacted: one heartbeat version of it goes",
				j.look, n1, j.reclaimed, b)
		}
	}
}

// review22SkippingOverwrites writes segs segments of hot overwrites
// while a View holds a snapshot from before them, then ends the View
// (as review21PinnedOverwrites), but segment i skips hot key i%hot (a
// hot key set written at random: each key's versions are in its own
// subset of the segments). It returns the database, held.
func review22SkippingOverwrites(t testing.TB, segs, hot int) *DB {
	t.Helper()
	db := openT(t, &Options{Durability: InMemory, SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	t.Cleanup(func() { <-db.compact.sem })
	rng := rand.New(rand.NewPCG(22, 2))
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() { done <- db.View(func(*Txn) error { close(held); <-release; return nil }) }()
	<-held
	for s := range segs {
		for i := range hot {
			if i != s%hot {
				mustPut(t, db, "r", fmt.Sprintf("h%d", i), String(randString(rng, 100)))
			}
		}
		rollNow(t, db)
	}
	close(release)
	require.NoError(t, <-done)
	return db
}

// review22NeedWork returns what one look's needTrie builds for a
// database: its nodes, the bytes it allocated, and the index's
// versions.
func review22NeedWork(t testing.TB, db *DB) (entries, alloc, versions int64) {
	t.Helper()
	pol, err := db.policy()
	require.NoError(t, err)
	dead := db.deadBySegment(pol)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	trie := db.needTrie(pol, dead)
	runtime.ReadMemStats(&after)
	_, _, versions = db.ix.Counts()
	return int64(len(trie.nodes)), int64(after.TotalAlloc - before.TotalAlloc), versions
}

// A look's need sets held, for each needy segment, each distinct set of
// older segments its keys' versions need: the whole list of them, cloned
// (freedWith, 7ba5001), then scanned by the needy pass. Where hot keys
// are overwritten over s segments under a long snapshot and each key's
// versions are in its own subset of them (a hot set written at random),
// every key gave every segment a set of up to s: O(keys * s^2) entries,
// bytes and checks for an index of keys * s versions (93 entries a
// version at 200 segments, 188 at 400). A look's needTrie has a node
// for each distinct path, at most one a version: doubling the segments
// (same keys) about doubles what a look builds.
func TestReview22NeedSetsQuadraticInSegments(t *testing.T) {
	const hot = 20
	var perVersion [2]float64
	for i, segs := range []int{200, 400} {
		db := review22SkippingOverwrites(t, segs, hot)
		entries, alloc, versions := review22NeedWork(t, db)
		t.Logf("%d segments, %d versions: the need trie has %d nodes, and allocated %d bytes (%.0f a version)",
			segs, versions, entries, alloc, float64(alloc)/float64(versions))
		perVersion[i] = float64(entries) / float64(versions)
		require.NoError(t, db.Close())
	}
	require.Less(t, perVersion[1], 1.5*perVersion[0],
		"need-trie nodes a version: %.2f at 200 segments, %.2f at 400 (quadratic in the segments)", perVersion[0], perVersion[1])
}

// BenchmarkReview22LookSkippingChain measures a background look over
// review22SkippingOverwrites' segments (20 hot keys): its time should
// grow about as the segments do.
func BenchmarkReview22LookSkippingChain(b *testing.B) {
	for _, segs := range []int{300, 1200} {
		b.Run(fmt.Sprint(segs), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := review22SkippingOverwrites(b, segs, 20)
				b.StartTimer()
				db.backgroundPass()
				b.StopTimer()
				if db.Stats().DeadBytes != 0 {
					b.Fatal("the look left dead bytes")
				}
				db.Close()
				b.StartTimer()
			}
		})
	}
}

// Hot keys born among cold data, then each updated once during a burst
// of cold writes (segment l: mostly live, its hot versions needing the
// segment before), then overwritten steadily. Every later segment is
// needy, each version needing o and l. In 7ba5001 a version credited its
// key's oldest segment only when every segment between was needy or
// picked, and l is neither (nor ever worth a job alone: its few dead
// versions need o). So no look picked o or l, and the needy segments
// waited for them for ever: the dead space grew with every segment
// written (69, 136, 270 KB after 10, 20, 40), a leak without bound under
// a steady load (KeepVersions 1, a look at every roll). Now o and l are
// picked with the needy segments once what goes because of each reaches
// CompactAt of it (pickNeeded): the dead space stays bounded.
func TestReview22HotKeysLeakBehindALiveSegment(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(22, 3))
	putKeys(t, db, rng, "u", 100) // cold, live for good
	putKeys(t, db, rng, "h", 10)  // the hot keys, born among cold data
	rollNow(t, db)
	putKeys(t, db, rng, "c", 100) // a burst of cold writes
	putKeys(t, db, rng, "h", 10)
	rollNow(t, db)
	db.backgroundPass()
	var most [2]int64 // the most dead bytes after a look in rounds 1-20, and in 21-40
	for round := 1; round <= 40; round++ {
		for range 3 {
			putKeys(t, db, rng, "h", 10) // about 7 KB a segment
		}
		rollNow(t, db)
		db.backgroundPass() // a look at every roll
		most[(round-1)/20] = max(most[(round-1)/20], db.Stats().DeadBytes)
	}
	t.Logf("the most dead bytes after a look in rounds 1-20: %d, in rounds 21-40: %d (%d segments sealed)",
		most[0], most[1], len(db.segs.Load().sealed))
	require.Positive(t, most[0], "the hot keys' dead versions wait behind the live segments for a while")
	require.LessOrEqual(t, most[1], most[0]+most[0]/4,
		"dead bytes grow without bound under steady overwrites of 10 hot keys: at most %d in rounds 1-20, %d in 21-40", most[0], most[1])
	require.Less(t, most[1], int64(64<<10), "dead bytes stay below a segment's size (CompactAt of the live segments and the hot keys' chain)")
}
