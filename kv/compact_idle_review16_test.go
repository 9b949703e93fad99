package kv

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"weak"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/segment"
)

// sealedWeakly returns weak pointers to db's sealed segments now.
func sealedWeakly(db *DB) map[uint32]weak.Pointer[segment.Sealed] {
	out := map[uint32]weak.Pointer[segment.Sealed]{}
	for id, s := range db.segs.Load().sealed {
		out[id] = weak.Make(s)
	}
	return out
}

// reachable returns the segments of ws that are not in db's table now
// and are still reachable after a collection: a removed segment stays
// mapped, and its file's blocks on disk, while it is (its mapping goes
// by a cleanup once it is not). runtime.GC returns with the cycle and
// its sweep done, so the answer does not depend on timing.
func reachable(db *DB, ws map[uint32]weak.Pointer[segment.Sealed]) []uint32 {
	runtime.GC()
	runtime.GC()
	var out []uint32
	for id, w := range ws {
		if _, live := db.segs.Load().sealed[id]; !live && w.Value() != nil {
			out = append(out, id)
		}
	}
	return out
}

// Compact collects the tables that held its inputs so that their
// mappings, and the disk space of their removed files, go when it
// returns. The idle state of the background look holds the segment table
// it saw (a *segTable), and with it every segment compacted away since:
// their mappings, and the removed files' blocks, stay until a later look
// replaces the state (the next tick, up to 5 s on, when Compact did not
// roll) and a later collection runs (the runtime forces one only every 2
// minutes).
func TestReview16CompactReleasesSegmentsTheIdleLookSaw(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.9})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	holdBackground(db)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		key := fmt.Sprintf("k%d", i%40)
		if i%4 == 0 {
			key = fmt.Sprintf("u%d", i) // live: no segment is all dead
		}
		mustPut(t, db, "r", key, String(randString(rng, 200)))
	}
	rollNow(t, db)
	mustPut(t, db, "r", "z", String("z")) // the active segment holds nothing dead
	require.Greater(t, len(db.segs.Load().sealed), 3)
	db.backgroundPass() // finds nothing dead enough for 0.9: records the idle state
	<-db.compact.sem
	active := db.segs.Load().active.ID()

	ws := sealedWeakly(db)
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.Positive(t, st.SegmentsIn)
	require.Equal(t, active, db.segs.Load().active.ID(), "Compact did not roll (no kick for the background)")
	require.Empty(t, reachable(db, ws), "segments compacted away are still reachable (and mapped) after Compact")
}

// The same, closed at once: Close stops the background goroutine before
// any later look, and closes only the segments of the table now, so a
// closed DB the application still references (a struct field) keeps
// the segments compacted away mapped, and their removed files' blocks
// on disk, for as long as it does.
func TestReview16CloseReleasesSegmentsTheIdleLookSaw(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.9})
	require.NoError(t, err)
	holdBackground(db)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		key := fmt.Sprintf("k%d", i%40)
		if i%4 == 0 {
			key = fmt.Sprintf("u%d", i)
		}
		mustPut(t, db, "r", key, String(randString(rng, 200)))
	}
	rollNow(t, db)
	mustPut(t, db, "r", "z", String("z"))
	db.backgroundPass()
	<-db.compact.sem
	ws := sealedWeakly(db)
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.Positive(t, st.SegmentsIn)
	require.NoError(t, db.Close())
	left := reachable(db, ws)
	runtime.KeepAlive(db) // the application still holds it
	require.Empty(t, left, "segments compacted away are still reachable (and mapped) after Close")
}

// (Before this change too.) A segment whose dead versions all have older
// versions in a neighbour that is not dead enough is picked by every
// look, and its job can drop nothing (a job drops a version only with
// every older one of its key): it is rewritten, unchanged, at every look,
// every 5 s for as long as the database is open, and the look never goes
// idle.
func TestReview16BackgroundGoesIdleAfterAJobThatDropsNothing(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 100 { // live keys: the first segment is not dead enough
		mustPut(t, db, "r", fmt.Sprintf("u%d", i), String(randString(rng, 200)))
	}
	for range 3 { // then three versions of ten keys, a segment each
		for i := range 10 {
			mustPut(t, db, "r", fmt.Sprintf("k%d", i), String(randString(rng, 200)))
		}
		rollNow(t, db)
	}
	for range 3 {
		db.backgroundPass()
	}
	before := db.Stats().DeadBytes
	sealed := slices.Sorted(maps.Keys(db.segs.Load().sealed))
	require.EqualValues(t, 0, lookWalks(db), "nothing was committed: the look is idle (sealed %v)", sealed)
	require.Equal(t, sealed, slices.Sorted(maps.Keys(db.segs.Load().sealed)), "the look rewrote a segment")
	require.Equal(t, before, db.Stats().DeadBytes)
}

// What changes what a look finds without a commit of keys changes the
// state it checks: a Compact between looks (a new segment table, even
// with no roll), and a DropRun (a commit of one event whose deletions
// make every version of the run dead).
func TestReview16LookAfterCompactAndDropRun(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.9})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		key := fmt.Sprintf("k%d", i%40)
		if i%4 == 0 {
			key = fmt.Sprintf("u%d", i)
		}
		mustPut(t, db, "r", key, String(randString(rng, 200)))
	}
	rollNow(t, db)
	mustPut(t, db, "other", "z", String("z"))
	require.EqualValues(t, 1, lookWalks(db))
	require.EqualValues(t, 0, lookWalks(db), "idle")

	<-db.compact.sem
	st, err := db.Compact(t.Context())
	holdBackground(db)
	require.NoError(t, err)
	require.Positive(t, st.VersionsDropped)
	require.EqualValues(t, 1, lookWalks(db), "after a Compact")
	require.EqualValues(t, 0, lookWalks(db), "idle")

	_, err = db.DropRun("r")
	require.NoError(t, err)
	rollNow(t, db) // the event's segment sealed: everything of r may go
	sealed := len(db.segs.Load().sealed)
	require.EqualValues(t, 1, lookWalks(db), "after a DropRun")
	require.Less(t, len(db.segs.Load().sealed), sealed, "the look compacted the dropped run")
	require.Zero(t, db.Stats().DeadBytes)
	require.EqualValues(t, 1, lookWalks(db))
	require.EqualValues(t, 0, lookWalks(db), "idle")
}
