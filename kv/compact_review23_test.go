package kv

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The twenty-third review's defects of 7ab8ce8 (its tests were lost with
// the review's worktree; these rebuild them from its findings).

// Hot keys born in four cold segments, each burst of overwrites (a
// segment of its own) touching keys of all four but none of another
// burst's, then overwritten again in the next burst. Every burst segment
// is needy, its versions needing the four cold segments (about 220 KB)
// and no other burst. In 7ab8ce8 each burst's group was tried alone:
// about 25 KB against the cold segments' 110 KB, never worth it, and the
// gains of the bursts never added up (the parent, 7ba5001, compacted most
// of them). Now (pickNeeded) every burst's versions that go count toward
// the cold segments they need: once the bursts behind them free
// CompactAt of them, all go.
func TestReview23NeedySegmentsSharingLiveSegmentsAddUp(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(23, 2))
	const bursts, perBurst = 20, 10
	var cold []uint32
	for c := range 4 {
		putKeys(t, db, rng, fmt.Sprintf("u%d-", c), 200) // live for good
		for k := range bursts {
			for i := c; i < perBurst; i += 4 {
				mustPut(t, db, "r", fmt.Sprintf("h%d-%d", k, i), String(randString(rng, 10)))
			}
		}
		cold = append(cold, review22Segment(t, db))
	}
	var burstSegs []uint32
	most := int64(0)
	for k := range bursts {
		for i := range perBurst {
			mustPut(t, db, "r", fmt.Sprintf("h%d-%d", k, i), String(randString(rng, 2500)))
			if k > 0 {
				mustPut(t, db, "r", fmt.Sprintf("h%d-%d", k-1, i), Int(int64(i))) // the burst before: dead now
			}
		}
		burstSegs = append(burstSegs, review22Segment(t, db))
		db.backgroundPass() // a look at every roll
		most = max(most, db.Stats().DeadBytes)
	}
	left := stillSealed(db, burstSegs)
	coldLeft := stillSealed(db, cold)
	t.Logf("%d of %d burst segments and %d of 4 cold segments left; the most dead bytes after a look: %d, now %d",
		left, bursts, coldLeft, most, db.Stats().DeadBytes)
	require.Less(t, left, bursts/2, "burst segments never compacted: their groups' gains do not add up")
	require.Less(t, most, int64(400<<10), "dead bytes wait behind the cold segments without bound")
}

// A cold segment c (about 54 KB, one dead version of 20 bytes) under a
// needy segment h whose versions need only a segment picked alone (n):
// h's group held c for its one version. In 7ab8ce8 the group was worth
// it on h's gain, which goes without c, and c was rewritten for 20
// bytes. Now c is picked only for what goes because of it (pickNeeded).
func TestReview23LiveSegmentNotRewrittenOnGainThatGoesWithoutIt(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(23, 3))
	for i := range 20 {
		mustPut(t, db, "r", fmt.Sprintf("x%d", i), String(randString(rng, 2500)))
	}
	n := review22Segment(t, db)
	putKeys(t, db, rng, "u", 220) // live for good
	mustPut(t, db, "r", "y", String(randString(rng, 20)))
	c := review22Segment(t, db)
	for i := range 20 {
		mustPut(t, db, "r", fmt.Sprintf("x%d", i), String(randString(rng, 2500)))
	}
	mustPut(t, db, "r", "y", String(randString(rng, 20)))
	h := review22Segment(t, db)
	for i := range 20 {
		mustPut(t, db, "r", fmt.Sprintf("x%d", i), Int(int64(i)))
	}
	mustPut(t, db, "r", "y", Int(0))

	dead := db.deadBySegment(db.retention())
	for _, id := range []uint32{n, c, h} {
		t.Logf("segment %d: %+v", id, dead[id])
	}
	require.Less(t, float64(dead[c].dead), 0.01*float64(dead[c].all), "c: live but for one version")
	require.GreaterOrEqual(t, float64(dead[h].dead), 0.5*float64(dead[h].all), "h is needy")
	require.Less(t, float64(dead[h].dead-dead[h].dep), 0.5*float64(dead[h].all), "h is needy, not worth a job alone")

	jobs := review21Looks(t, db, 4)
	for _, j := range jobs {
		require.NotContains(t, j.rewritten, c, "look %d rewrote the cold segment %d for its one dead version", j.look, c)
	}
	require.Nil(t, db.segs.Load().sealed[h], "the needy segment h goes with n")
}
