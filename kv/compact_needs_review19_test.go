package kv

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// idsTaken returns how many segment ids compaction jobs (or rolls)
// took since next, an earlier db.set.nextID.
func idsTaken(db *DB, next uint32) uint32 {
	db.set.mu.Lock()
	defer db.set.mu.Unlock()
	return db.set.nextID - next
}

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
	put := func(prefix string, n int) {
		for i := range n {
			mustPut(t, db, "r", fmt.Sprintf("%s%d", prefix, i), String(randString(rng, 200)))
		}
	}
	put("u", 100) // 100 live keys and 10 dead: not worth compacting
	put("k", 10)
	rollNow(t, db)
	put("k", 10) // the second versions: dead, going only with the first
	rollNow(t, db)
	put("k", 10)
	sealed := slices.Sorted(maps.Keys(db.segs.Load().sealed))
	db.set.mu.Lock()
	next := db.set.nextID
	db.set.mu.Unlock()
	const looks = 10
	for i := range looks {
		mustPut(t, db, "r", "z", Int(int64(i))) // a steady trickle of writes, no roll
		db.backgroundPass()
	}
	require.Equal(t, sealed, slices.Sorted(maps.Keys(db.segs.Load().sealed)), "nothing is worth compacting")
	require.Zero(t, idsTaken(db, next), "%d looks under steady writes ran %d compaction jobs that dropped nothing",
		looks, idsTaken(db, next))
}
