package kv

import (
	"math/rand/v2"
	"testing"
)

// A needy segment (its dead versions go only with an older segment) is
// picked whether or not the older segment it needs is: when that one is
// not worth it (TestBackgroundLeavesAnOlderSegmentNotWorthIt), the job on
// the needy segment alone can drop nothing, and is run anyway, reading
// the whole segment and writing a copy of it that is then thrown away.
// With no writes the look goes idle; with a single small commit between
// looks (any live database: every 5 s and at every roll) the same
// pointless job runs at every look, for ever, and takes a segment id
// each time.
func TestReview19NeedyJobThatDropsNothingRunsEveryLook(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(7, 8))
	put := func(prefix string, n int) { putKeys(t, db, rng, prefix, n) }
	put("u", 100) // 100 live keys and 10 dead: not worth compacting
	put("k", 10)
	rollNow(t, db)
	put("k", 10) // the second versions: dead, going only with the first
	rollNow(t, db)
	put("k", 10)
	requireNoJobsUnderWrites(t, db)
}
