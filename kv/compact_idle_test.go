package kv

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/compaction"
	"github.com/strata-kv/strata/segment"
)

// putKeys writes prefix0 .. prefix<n-1> in run "r", a random 200-byte
// string each, one commit a key.
func putKeys(t *testing.T, db *DB, rng *rand.Rand, prefix string, n int) {
	t.Helper()
	for i := range n {
		mustPut(t, db, "r", fmt.Sprintf("%s%d", prefix, i), String(randString(rng, 200)))
	}
}

// newestSegment returns the ID of the newest segment the manifest lists.
func newestSegment(db *DB) uint32 {
	db.set.mu.Lock()
	defer db.set.mu.Unlock()
	return db.set.man.Segments[len(db.set.man.Segments)-1].ID
}

// requireNoJobsUnderWrites runs ten background looks, a small commit
// before each (any live database: a look every 5 s and at every roll),
// and fails if any rewrote a segment or took a segment ID (a job run,
// even one thrown away).
func requireNoJobsUnderWrites(t *testing.T, db *DB) {
	t.Helper()
	sealed := slices.Sorted(maps.Keys(db.segs.Load().sealed))
	db.set.mu.Lock()
	next := db.set.nextID
	db.set.mu.Unlock()
	const looks = 10
	for i := range looks {
		mustPut(t, db, "r", "z", Int(int64(i)))
		db.backgroundPass()
	}
	require.Equal(t, sealed, slices.Sorted(maps.Keys(db.segs.Load().sealed)), "nothing is worth compacting")
	db.set.mu.Lock()
	taken := db.set.nextID - next
	db.set.mu.Unlock()
	require.Zero(t, taken, "%d looks under steady writes ran %d compaction jobs that dropped nothing", looks, taken)
}

// lookWalks runs one background look (holdBackground must have been
// called) and returns how many walks of the index it took.
func lookWalks(db *DB) int64 {
	w := db.compact.walks.Load()
	db.backgroundPass()
	return db.compact.walks.Load() - w
}

// An idle database with a retention policy does not walk its whole index
// at every background look: a look at the state in which the last one
// found nothing to compact skips the walk, and a commit, a snapshot
// released, a fork or a compaction makes the next look walk again.
func TestBackgroundLookSkipsAnIdleDatabase(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	for i := range 50 {
		mustPut(t, db, "r", fmt.Sprintf("k%d", i), Int(int64(i)))
	}
	require.EqualValues(t, 1, lookWalks(db), "the first look walks")
	require.EqualValues(t, 0, lookWalks(db), "nothing changed")
	require.EqualValues(t, 0, lookWalks(db), "nothing changed")

	mustPut(t, db, "r", "k1", Int(100))
	require.EqualValues(t, 1, lookWalks(db), "after a commit")
	require.EqualValues(t, 0, lookWalks(db))

	// A snapshot held while a commit lands pins the version it reads;
	// its release lets more go, with no commit.
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- db.View(func(tx *Txn) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	mustPut(t, db, "r", "k2", Int(200))
	require.EqualValues(t, 1, lookWalks(db), "after a commit under a snapshot")
	require.EqualValues(t, 0, lookWalks(db), "the snapshot still held")
	close(release)
	require.NoError(t, <-done)
	require.EqualValues(t, 1, lookWalks(db), "after the snapshot's release")
	require.EqualValues(t, 0, lookWalks(db))

	_, err := db.ForkRun("r", "fork", 0)
	require.NoError(t, err)
	require.EqualValues(t, 1, lookWalks(db), "after a fork")
	require.EqualValues(t, 0, lookWalks(db))
}

// With KeepFor, versions age out while nothing changes: every look walks.
func TestBackgroundLookWalksWithKeepFor(t *testing.T) {
	db := openT(t, &Options{Retention: Retention{KeepFor: time.Hour}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	mustPut(t, db, "r", "k", Int(1))
	mustPut(t, db, "r", "k", Int(2))
	require.EqualValues(t, 1, lookWalks(db))
	require.EqualValues(t, 1, lookWalks(db), "KeepFor: versions age out with time alone")
}

// A look that compacts leaves no idle state: the next look walks (and
// finds the segments compacted).
func TestBackgroundLookAfterACompaction(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	fillDeadSegments(t, db)
	before := db.Stats().DeadBytes
	require.Positive(t, before)
	require.EqualValues(t, 1, lookWalks(db), "the look that compacts")
	require.Less(t, db.Stats().DeadBytes, before, "it compacted")
	require.EqualValues(t, 1, lookWalks(db), "the next look walks: the segments changed")
	require.EqualValues(t, 0, lookWalks(db), "then nothing changed")
}

// A segment dead enough whose dead versions' keys began in an older
// segment that is not (a job drops a version only with every older one
// of its key among its inputs) is compacted together with that segment,
// where a job on it alone would drop nothing, when the older segment's
// own dead bytes and those that go with it reach CompactAt of it (here
// 10 of 35 entries dead, and 10 more that go with them).
func TestBackgroundCompactsBackToTheOldestVersion(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 25 { // live keys: the first segment is not dead enough
		mustPut(t, db, "r", fmt.Sprintf("u%d", i), String(randString(rng, 200)))
	}
	var first []Version
	for round := range 3 { // three versions of ten keys, a segment each
		for i := range 10 {
			v := mustPut(t, db, "r", fmt.Sprintf("k%d", i), String(randString(rng, 200)))
			if round == 0 {
				first = append(first, v)
			}
		}
		rollNow(t, db)
	}
	require.Positive(t, db.Stats().DeadBytes)
	db.backgroundPass()
	require.Zero(t, db.Stats().DeadBytes, "the background look reclaimed every dead version")
	for i, v := range first {
		_, err := db.GetAt("r", fmt.Sprintf("k%d", i), v)
		require.ErrorIs(t, err, ErrHistoryTrimmed)
	}
	for i := range 25 {
		_, ok, err := db.Get("r", fmt.Sprintf("u%d", i))
		require.NoError(t, err)
		require.True(t, ok)
	}
	sealed := slices.Sorted(maps.Keys(db.segs.Load().sealed))
	require.EqualValues(t, 1, lookWalks(db), "the segments changed")
	require.EqualValues(t, 0, lookWalks(db))
	require.Equal(t, sealed, slices.Sorted(maps.Keys(db.segs.Load().sealed)))
}

// A job that can drop nothing (its segment's dead versions have older
// ones outside it) leaves the segments as they were: no copy under a new
// name.
func TestCompactRunThatDropsNothingSwitchesNothing(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	for round := range 3 {
		for i := range 10 {
			mustPut(t, db, "r", fmt.Sprintf("k%d", i), Int(int64(round)))
		}
		rollNow(t, db)
	}
	infos := db.set.man.Segments
	require.GreaterOrEqual(t, len(infos), 3)
	second := infos[1] // the keys' second versions: dead, their first in infos[0]
	before := slices.Sorted(maps.Keys(db.segs.Load().sealed))
	pol, err := db.policy()
	require.NoError(t, err)
	st, err := db.compactRun(context.Background(), []compaction.Input{{Seg: db.segs.Load().sealed[second.ID], Info: second}}, pol, nil)
	require.NoError(t, err)
	require.Zero(t, st)
	require.Equal(t, before, slices.Sorted(maps.Keys(db.segs.Load().sealed)))
	names, err := os.ReadDir(db.dir)
	require.NoError(t, err)
	for _, n := range names {
		id, ok := segment.ParseFileName(n.Name())
		require.True(t, !ok || slices.Contains(before, id) || id == db.segs.Load().active.ID(), "file %s left behind", n.Name())
	}
}

// The segments a dead one needs are compacted, not those between: a
// segment of live keys lying between the one a key began in (not dead
// enough itself) and the dead one is left as it is.
func TestBackgroundCompactsOnlyTheSegmentsNeeded(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(5, 6))
	put := func(prefix string, n int) { putKeys(t, db, rng, prefix, n) }
	put("u", 25) // live keys, then the first versions of the k keys
	put("k", 10)
	rollNow(t, db)
	put("w", 100) // live keys between
	rollNow(t, db)
	between := newestSegment(db)
	put("k", 10) // the second versions: a segment all dead
	rollNow(t, db)
	put("k", 10) // the third, live
	dead := db.deadBySegment(db.retention())
	require.Len(t, dead, 2, "the first versions' segment and the second versions'")
	db.backgroundPass()
	require.Zero(t, db.Stats().DeadBytes, "the look reclaimed every dead version")
	require.Contains(t, db.segs.Load().sealed, between, "the segment of live keys between was rewritten")
}

// The older segment is not compacted when its own dead bytes and those
// that go with it stay below CompactAt of it: the dead segment's
// versions wait, its job (which would drop nothing) is not switched in,
// and the looks go idle.
func TestBackgroundLeavesAnOlderSegmentNotWorthIt(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(7, 8))
	put := func(prefix string, n int) { putKeys(t, db, rng, prefix, n) }
	put("u", 100) // 100 live keys and 10 dead: 18% dead with the 10 that go with them
	put("k", 10)
	rollNow(t, db)
	put("k", 10) // the second versions: dead, going only with the first
	rollNow(t, db)
	put("k", 10)
	sealed := slices.Sorted(maps.Keys(db.segs.Load().sealed))
	before := db.Stats().DeadBytes
	require.Positive(t, before)
	for range 3 {
		db.backgroundPass()
	}
	require.Equal(t, sealed, slices.Sorted(maps.Keys(db.segs.Load().sealed)), "a segment was rewritten")
	require.Equal(t, before, db.Stats().DeadBytes)
	require.EqualValues(t, 0, lookWalks(db), "the looks went idle")
}

// A needy segment is picked only once every older segment a version of
// it needs is: here its keys began in a segment not worth compacting,
// and their middle versions lie in a segment picked for dead versions of
// its own, so a job with the needy segment would drop nothing of it.
func TestBackgroundNeedyWaitsForEveryOlderSegment(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(9, 10))
	put := func(prefix string, n int) { putKeys(t, db, rng, prefix, n) }
	put("u", 100) // live, and the k keys' first versions: not worth compacting
	put("k", 10)
	rollNow(t, db)
	put("k", 10) // the k keys' second versions, and x keys overwritten later:
	put("x", 30) // worth compacting for the x keys alone
	rollNow(t, db)
	put("k", 10) // the third versions: needy, needing both segments before
	rollNow(t, db)
	needy := newestSegment(db)
	put("k", 10)
	put("x", 30)
	dead := db.deadBySegment(db.retention())
	require.Equal(t, dead[needy].dead, dead[needy].dep, "every dead version of the needy segment needs older ones")
	db.backgroundPass()
	require.Contains(t, db.segs.Load().sealed, needy, "the needy segment was compacted, though one segment it needs was not")
}

// Hot keys born in a segment of mostly live keys and then overwritten
// over several segments: each of those is needy (its versions need the
// older ones), none alone brings the oldest segment to CompactAt, but
// together they do, as a chain of needy segments goes with it: one look
// compacts them all. (A credit only from versions that need the oldest
// segment alone would leave them waiting for ever.)
func TestBackgroundCompactsAChainOfNeedySegments(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(11, 12))
	putKeys(t, db, rng, "u", 200) // live for good: about 45 KB
	putKeys(t, db, rng, "h", 10)  // the hot keys' first versions
	rollNow(t, db)
	oldest := newestSegment(db)
	var chain []uint32
	for range 5 {
		for range 3 {
			putKeys(t, db, rng, "h", 10) // about 7 KB a segment
		}
		rollNow(t, db)
		chain = append(chain, newestSegment(db))
	}
	putKeys(t, db, rng, "h", 10) // the newest versions, in the active segment
	dead := db.deadBySegment(db.retention())
	for _, id := range chain {
		require.Equal(t, dead[id].dead, dead[id].dep, "segment %d's dead versions all need older ones", id)
		require.Less(t, float64(dead[id].dead), 0.5*float64(dead[oldest].all-dead[oldest].dead), "segment %d alone is not worth the oldest", id)
	}
	db.backgroundPass()
	sealed := db.segs.Load().sealed
	for _, id := range append(chain, oldest) {
		require.NotContains(t, sealed, id, "segment %d was not compacted", id)
	}
	require.Less(t, db.Stats().DeadBytes, int64(8<<10), "what is dead is in the active segment")
}

// A needy segment is picked only when what its job would drop reaches
// CompactAt of it: here a few of its versions need only a segment picked
// anyway, and the rest a segment not worth compacting, so it waits
// rather than be rewritten for those few.
func TestBackgroundNeedyWaitsWhenWhatGoesIsLittle(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(13, 14))
	putKeys(t, db, rng, "x", 60) // overwritten below: worth compacting alone
	putKeys(t, db, rng, "k", 2)
	rollNow(t, db)
	picked := newestSegment(db)
	putKeys(t, db, rng, "u", 250) // live for good
	putKeys(t, db, rng, "m", 20)
	rollNow(t, db)
	putKeys(t, db, rng, "k", 2) // needing only the first segment
	for range 5 {
		putKeys(t, db, rng, "m", 20) // needing only the second
	}
	rollNow(t, db)
	needy := newestSegment(db)
	putKeys(t, db, rng, "x", 60)
	putKeys(t, db, rng, "k", 2)
	putKeys(t, db, rng, "m", 20)
	dead := db.deadBySegment(db.retention())
	require.Equal(t, dead[needy].dead, dead[needy].dep, "every dead version of the needy segment needs older ones")
	db.backgroundPass()
	sealed := db.segs.Load().sealed
	require.NotContains(t, sealed, picked, "the segment worth compacting alone was compacted")
	require.Contains(t, sealed, needy, "the needy segment was rewritten for its two versions that could go")
}

// A needy segment's group goes through a segment picked on its own: the
// hot keys began in a segment of few live keys, their second versions
// lie in a segment picked for dead keys of its own, and their third in a
// needy segment. The needy segment and the oldest go together, with the
// versions in the picked segment between counted as freed by them.
func TestBackgroundGroupGoesThroughAPickedSegment(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(15, 16))
	putKeys(t, db, rng, "u", 40) // live for good
	putKeys(t, db, rng, "k", 10)
	rollNow(t, db)
	oldest := newestSegment(db)
	putKeys(t, db, rng, "k", 10)
	putKeys(t, db, rng, "x", 30) // overwritten below: worth compacting alone
	rollNow(t, db)
	picked := newestSegment(db)
	putKeys(t, db, rng, "k", 10)
	rollNow(t, db)
	needy := newestSegment(db)
	putKeys(t, db, rng, "k", 10)
	putKeys(t, db, rng, "x", 30)
	dead := db.deadBySegment(db.retention())
	require.Less(t, float64(dead[oldest].dead), 0.5*float64(dead[oldest].all), "the oldest is not worth a job alone")
	require.Equal(t, dead[needy].dead, dead[needy].dep, "every dead version of the needy segment needs older ones")
	db.backgroundPass()
	sealed := db.segs.Load().sealed
	for _, id := range []uint32{oldest, picked, needy} {
		require.NotContains(t, sealed, id, "segment %d was not compacted", id)
	}
	require.Less(t, db.Stats().DeadBytes, int64(16<<10), "what is dead is in the active segment")
}
