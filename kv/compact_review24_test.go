package kv

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The twenty-fourth review's defects of 039d5de (its incremental picker of
// groups), kept against pickNeeded, which replaced it.

// stillSealed counts the segments of ids the database still holds.
func stillSealed(db *DB, ids []uint32) int {
	sealed := db.segs.Load().sealed
	n := 0
	for _, id := range ids {
		if sealed[id] != nil {
			n++
		}
	}
	return n
}

// review24ChainCase: a huge live segment L (1) whose keys were
// overwritten in needy segment A (2), which holds one version of a
// heartbeat key overwritten in every needy segment after it (3..segs).
// A is short alone (its versions need L); each later segment is worth a
// job but for its heartbeat version needing A.
func review24ChainCase(segs int) (*needTrie, []uint32, func(uint32) int64) {
	var paths [][]uint32
	for range 9 {
		paths = append(paths, []uint32{1, 2})
	}
	heartbeat := []uint32{2}
	for s := uint32(3); s <= uint32(segs); s++ {
		heartbeat = append(heartbeat, s)
	}
	paths = append(paths, heartbeat)
	t := trieOf(paths, func(int, int) int64 { return 100 })
	return t, upTo(segs), func(s uint32) int64 {
		switch s {
		case 1:
			return 1 << 40
		case 2:
			return 1000
		}
		return 150 // the heartbeat version alone is CompactAt of it
	}
}

// 039d5de reran its step 1 over every node a group held at each trial
// when a needy member was short alone and others not: 500 visits a node
// at 500 segments, 2,000 at 2,000. And it picked nothing here, though the
// heartbeat versions that need A pay for A many times over. pickNeeded
// takes two passes over the trie (L goes in the first).
func TestReview24StepsLinearWhenANeedySegmentIsShortAlone(t *testing.T) {
	for _, segs := range []int{500, 2000} {
		trie, order, size := review24ChainCase(segs)
		pick := map[uint32]bool{}
		rounds := trie.pickNeeded(pick, order, size, 0.5)
		t.Logf("%d segments: %d rounds", segs, rounds)
		require.LessOrEqual(t, rounds, 3, "passes over the trie")
		require.False(t, pick[1], "L rewritten for A's 900 bytes")
		require.Len(t, pick, segs-1, "A and every segment after it pay")
	}
}

// review24HostageCase: a big cold segment C (1, live), a small segment L
// (2, live but for the first versions of ten hot keys), and bursts
// 3..segs, each overwriting the hot keys (its versions need L and the
// bursts before). The first burst also overwrites key y, born in C: one
// version of 20 bytes that needs C.
func review24HostageCase(segs int) (*needTrie, []uint32, func(uint32) int64) {
	hot := []uint32{2}
	for s := uint32(3); s <= uint32(segs); s++ {
		hot = append(hot, s)
	}
	paths := [][]uint32{{1, 3}, hot}
	t := trieOf(paths, func(k, i int) int64 {
		if k == 0 {
			return 20 // y's versions in C and in the first burst
		}
		if i == 0 {
			return 50 // the hot keys' first versions, in L
		}
		return 100 // a burst: its hot versions
	})
	return t, upTo(segs), func(s uint32) int64 {
		switch s {
		case 1:
			return 10000
		case 2:
			return 200
		case 3:
			return 120
		}
		return 100
	}
}

// A live segment is rewritten only for what goes because of it. Here the
// versions that need L and the bursts pay for L many times over; 039d5de
// weighed a group's live segments together, so the bursts waited behind
// C (the first burst's y needs it), and once their gain reached CompactAt
// of C and L together, C (10,000 bytes) was rewritten for y's 40.
func TestReview24LiveSegmentNotRewrittenForAnotherLiveSegmentsGain(t *testing.T) {
	t.Run("C not rewritten for L's gain", func(t *testing.T) {
		trie, order, size := review24HostageCase(60)
		pick := map[uint32]bool{}
		trie.pickNeeded(pick, order, size, 0.5)
		require.False(t, pick[1], "C (10,000 bytes) rewritten: what goes because of it is 40 bytes")
		require.Len(t, pick, 59, "L and every burst")
	})
	t.Run("bursts go with L", func(t *testing.T) {
		trie, order, size := review24HostageCase(5)
		pick := map[uint32]bool{}
		trie.pickNeeded(pick, order, size, 0.5)
		t.Logf("picked %v", pick)
		require.True(t, pick[2] && pick[3] && pick[4] && pick[5], "three bursts (300 bytes) behind L (200, 50 of them its own dead versions) wait behind C")
	})
}

// The same in a database: two cold segments (live for good but for one
// small version of y0 and y1), a segment L of live keys and the first
// versions of ten hot keys, then bursts overwriting the hot keys (2.5 KB
// values), a look at every roll. The first burst also overwrites y0 and
// y1. The hot keys' dead versions need only L and pay for it from the
// second burst on; in 039d5de the first burst's group held the cold
// segments too, so the bursts waited behind them, and once they paid
// for all three the cold segments were rewritten, each for its one dead
// version.
func TestReview24ColdSegmentNotRewrittenForHotKeysThatNeedAnother(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(24, 1))
	var cold []uint32
	for c := range 2 {
		putKeys(t, db, rng, fmt.Sprintf("u%d-", c), 250) // live for good
		mustPut(t, db, "r", fmt.Sprintf("y%d", c), String(randString(rng, 20)))
		cold = append(cold, review22Segment(t, db))
	}
	putKeys(t, db, rng, "v", 100) // live for good
	for i := range 10 {
		mustPut(t, db, "r", fmt.Sprintf("h%d", i), String(randString(rng, 200)))
	}
	l := review22Segment(t, db)
	var jobs []review21Job
	most := int64(0)
	for k := range 12 {
		for i := range 10 {
			mustPut(t, db, "r", fmt.Sprintf("h%d", i), String(randString(rng, 2500)))
		}
		if k == 0 {
			mustPut(t, db, "r", "y0", String(randString(rng, 20)))
			mustPut(t, db, "r", "y1", String(randString(rng, 20)))
		}
		if k == 1 {
			mustPut(t, db, "r", "y0", Int(0)) // the versions before: dead now
			mustPut(t, db, "r", "y1", Int(1))
		}
		review22Segment(t, db)
		jobs = append(jobs, review21Looks(t, db, 1)...)
		most = max(most, db.Stats().DeadBytes)
	}
	t.Logf("cold %v, L %d; most dead bytes after a look %d", cold, l, most)
	require.NotEmpty(t, jobs, "the hot keys' dead versions are compacted")
	for _, j := range jobs {
		for _, c := range cold {
			require.NotContains(t, j.rewritten, c, "a look rewrote the cold segment %d (about 55 KB) for one dead version of 20 bytes", c)
		}
	}
	require.Less(t, most, int64(200<<10), "dead bytes grow with every burst")
}

// A needy segment N that the trie weighs short of CompactAt for good:
// its dead bytes are twenty 2.5 KB versions of one key (counted at their
// length by deadBySegment) and fifty dead 10-byte versions of other keys,
// but needTrie counts every version at the segment's mean value length,
// so N never frees CompactAt of itself. N's versions need L, a segment
// of live keys that also holds the first versions of ten hot keys; the
// hot keys are then overwritten in bursts (a segment each, 25 KB, dead
// at the next burst), whose versions need L and nothing of N. In 039d5de
// the first burst's walk met L's node, held by N's pending group, and
// joined it: the group could never pass (N short), so no burst ever went
// and the dead bytes grew with every burst. (Since the trie weighs a
// key's versions at its own sampled length, as deadBySegment does, N is
// no longer short: it goes with the rest.)
func TestReview24ShortNeedySegmentDoesNotHoldBurstsBehindItsLiveSegment(t *testing.T) {
	for _, withN := range []bool{false, true} {
		t.Run(fmt.Sprintf("N=%v", withN), func(t *testing.T) {
			db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
			holdBackground(db)
			defer func() { <-db.compact.sem }()
			rng := rand.New(rand.NewPCG(24, 2))
			putKeys(t, db, rng, "v", 150) // live for good
			mustPut(t, db, "r", "h", String(randString(rng, 200)))
			for i := range 10 {
				mustPut(t, db, "r", fmt.Sprintf("g%d", i), String(randString(rng, 200)))
			}
			l := review22Segment(t, db)
			var n uint32
			if withN {
				for range 20 {
					mustPut(t, db, "r", "h", String(randString(rng, 2500)))
				}
				for i := range 50 {
					mustPut(t, db, "r", fmt.Sprintf("s%d", i), String(randString(rng, 10)))
				}
				n = review22Segment(t, db)
				mustPut(t, db, "r", "h", Int(0)) // N's versions: dead now
				for i := range 50 {
					mustPut(t, db, "r", fmt.Sprintf("s%d", i), Int(int64(i)))
				}
			}
			const bursts = 20
			var burstSegs []uint32
			most := int64(0)
			for k := range bursts {
				for i := range 10 {
					mustPut(t, db, "r", fmt.Sprintf("g%d", i), String(randString(rng, 2500)))
				}
				burstSegs = append(burstSegs, review22Segment(t, db))
				if k == 0 && withN { // before the first look
					dead := db.deadBySegment(db.retention())
					t.Logf("L %d: %+v; N %d: %+v", l, dead[l], n, dead[n])
					require.GreaterOrEqual(t, float64(dead[n].dead), 0.5*float64(dead[n].all), "N is needy")
					require.Less(t, float64(dead[n].dead-dead[n].dep), 0.5*float64(dead[n].all), "N is needy")
				}
				db.backgroundPass() // a look at every roll
				most = max(most, db.Stats().DeadBytes)
			}
			left := stillSealed(db, burstSegs)
			t.Logf("%d of %d burst segments left; the most dead bytes after a look %d, now %d", left, bursts, most, db.Stats().DeadBytes)
			require.Less(t, left, bursts/2, "the bursts never go: their group holds N, short for good")
			require.Less(t, most, int64(200<<10), "dead bytes grow with every burst")
		})
	}
}

// Hot keys born in a needy segment A (most of A's dead bytes need a big
// live segment L, too few to pay for it; A's own hot-key versions are
// short of CompactAt of A) and overwritten in bursts (a segment each,
// dead at the next burst). Each burst's versions need only A. 039d5de
// (and 7ab8ce8) left A out, short alone, and with it every burst: the
// bursts' versions never counted toward A, and the dead bytes grew with
// every burst. Now they pay for A.
func TestReview24BurstsBehindANeedySegmentShortAloneGo(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	rng := rand.New(rand.NewPCG(24, 3))
	putKeys(t, db, rng, "v", 250) // live for good
	for i := range 20 {
		mustPut(t, db, "r", fmt.Sprintf("w%d", i), String(randString(rng, 20)))
	}
	l := review22Segment(t, db)
	for i := range 20 {
		mustPut(t, db, "r", fmt.Sprintf("w%d", i), String(randString(rng, 500)))
	}
	for i := range 10 {
		mustPut(t, db, "r", fmt.Sprintf("g%d", i), String(randString(rng, 200)))
	}
	a := review22Segment(t, db)
	for i := range 20 {
		mustPut(t, db, "r", fmt.Sprintf("w%d", i), Int(int64(i))) // A's w versions: dead now
	}
	const bursts = 20
	var burstSegs []uint32
	most := int64(0)
	for k := range bursts {
		for i := range 10 {
			mustPut(t, db, "r", fmt.Sprintf("g%d", i), String(randString(rng, 2500)))
		}
		burstSegs = append(burstSegs, review22Segment(t, db))
		if k == 0 {
			dead := db.deadBySegment(db.retention())
			t.Logf("L %d: %+v; A %d: %+v", l, dead[l], a, dead[a])
			require.GreaterOrEqual(t, float64(dead[a].dead), 0.5*float64(dead[a].all), "A is needy")
			require.Less(t, float64(dead[a].dead-dead[a].dep), 0.5*float64(dead[a].all), "A is needy")
			require.Less(t, float64(dead[l].dead), 0.1*float64(dead[l].all), "L is live")
		}
		db.backgroundPass() // a look at every roll
		most = max(most, db.Stats().DeadBytes)
	}
	left := stillSealed(db, burstSegs)
	t.Logf("%d of %d burst segments left; the most dead bytes after a look %d, now %d", left, bursts, most, db.Stats().DeadBytes)
	require.Less(t, left, bursts/2, "the bursts never go")
	require.Less(t, most, int64(200<<10), "dead bytes grow with every burst")
	require.Equal(t, 1, stillSealed(db, []uint32{l}), "L rewritten for A's few versions that need it")
}
