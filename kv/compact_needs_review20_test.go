package kv

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// freedWith once credited each older segment a needy version needs with that
// version's bytes, though the version goes only once every older
// segment of its key is compacted too. With a key set written in three
// sealed segments Q (mostly live, not worth it), O and N, then again in
// the active one, O (needy: its versions go only with Q) is credited with
// N's versions and picked, and N with it through the fixpoint: the job on
// [O N] can drop nothing while Q stays, and under a trickle of writes it
// runs at every look, reading both segments, writing copies thrown away
// and taking segment ids.
func TestReview20CreditFromVersionThatNeedsAnUnpickedSegmentToo(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(7, 8))
	put := func(prefix string, n int) { putKeys(t, db, rng, prefix, n) }
	put("u", 100) // Q: 100 live keys and 10 dead: not worth compacting
	put("k", 10)
	rollNow(t, db)
	put("k", 10) // O: the second versions, dead, going only with Q
	rollNow(t, db)
	put("k", 10) // N: the third versions, going only with Q and O
	rollNow(t, db)
	put("k", 10)
	requireNoJobsUnderWrites(t, db)
}

// An overwrite-heavy workload with KeepVersions 1 over many segments,
// and a segment wholly dead from keys overwritten in the next one (its
// own versions the oldest: dep 0): background looks reclaim them.
func TestReview20OverwriteHeavyIsReclaimed(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(9, 10))
	for round := range 12 {
		for i := range 50 {
			mustPut(t, db, "r", fmt.Sprintf("h%d", i), String(randString(rng, 200)))
		}
		if round%3 == 0 {
			mustPut(t, db, "r", fmt.Sprintf("c%d", round), String(randString(rng, 200)))
		}
		rollNow(t, db)
	}
	for range 5 {
		db.backgroundPass()
	}
	st := db.Stats()
	require.Less(t, st.DeadBytes, int64(20<<10), "dead bytes left after the looks: %d", st.DeadBytes)
}
