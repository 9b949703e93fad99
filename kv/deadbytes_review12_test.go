package kv

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/segment"
)

// The sample deadBySegment takes is "the first deadSample droppable
// values the walk meets", but the walk meets a key's versions together
// (chain by chain), so one key with many droppable versions fills the
// whole sample with its own values. Here: 2,000 keys whose old 2 KB
// values are dead, plus one hot key (the first chain the walk meets) with
// 300 dead versions of a few bytes, all in one segment. Its true dead
// bytes are ~4 MB (most of the segment); the estimate is the hot key's
// mean (a few bytes) times 2,300 values.
func TestReview12DeadBytesSampleIsOneHotKey(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	rng := rand.New(rand.NewPCG(5, 6))
	const keys = 2000
	big := func() Value {
		b := make([]byte, 2000) // incompressible
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		return Bytes(b)
	}
	for i := range keys {
		mustPut(t, db, "r", fmt.Sprintf("k%d", i), big())
	}
	// The hot key: whichever key the walk (hash order) meets first.
	hot := ""
	db.ix.Chains(func(c index.Chain) bool {
		if c.Run() == segment.EventRun {
			return true
		}
		hot = string(c.KeyView())
		return false
	})
	require.NotEmpty(t, hot)
	for j := range 300 {
		mustPut(t, db, "r", hot, Int(int64(j)))
	}
	segID := db.segs.Load().active.ID()
	rollNow(t, db)
	// Every key gets a newer version in a later segment: all of the
	// first segment's versions but none of the second's may go.
	for i := range keys {
		mustPut(t, db, "r", fmt.Sprintf("k%d", i), Int(1))
	}
	rollNow(t, db)
	var want int64 // the dead versions' true bytes: stored value, key, framing
	for i := range keys {
		k := fmt.Sprintf("k%d", i)
		c, _ := db.ix.Find("r", k)
		first := true
		c.Raw(func(r index.Record) bool {
			if first {
				first = false
				return true
			}
			b, _, err := db.segs.Load().read(r)
			require.NoError(t, err)
			want += int64(len(b)) + int64(len(k)) + entryOverhead
			return true
		})
	}
	got := db.Stats().DeadBytes
	sh := db.deadBySegment(db.retention())[segID]
	t.Logf("hot key %q; DeadBytes %d, true dead bytes %d; segment %d: estimated dead share %.3f (CompactAt default %.2f)",
		hot, got, want, segID, float64(sh.dead)/float64(sh.all), DefaultCompactAt)
	// Background compaction's test: the first segment is almost all dead,
	// yet its estimated share stays under CompactAt, so it is never chosen.
	require.GreaterOrEqual(t, float64(sh.dead), DefaultCompactAt*float64(sh.all),
		"segment %d is %.0f%% dead but estimated %.1f%%", segID, 100*float64(want)/float64(sh.all), 100*float64(sh.dead)/float64(sh.all))
	require.InEpsilon(t, float64(want), float64(got), 0.1)
}

// The same shape with background compaction on (CompactAt 0.5): the
// first segment, all of it droppable, is never chosen, because its
// estimated dead share is the hot key's few bytes a value.
func TestReview12BackgroundSkipsADeadSegment(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	rng := rand.New(rand.NewPCG(5, 6))
	const keys = 2000
	for i := range keys {
		b := make([]byte, 2000)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		mustPut(t, db, "r", fmt.Sprintf("k%d", i), Bytes(b))
	}
	hot := ""
	db.ix.Chains(func(c index.Chain) bool {
		if c.Run() == segment.EventRun {
			return true
		}
		hot = string(c.KeyView())
		return false
	})
	for j := range 300 {
		mustPut(t, db, "r", hot, Int(int64(j)))
	}
	segID := db.segs.Load().active.ID()
	rollNow(t, db)
	for i := range keys {
		mustPut(t, db, "r", fmt.Sprintf("k%d", i), Int(1))
	}
	rollNow(t, db) // prompts background compaction; it also looks every 5 s
	// A hang detector only: the job is prompted now and takes milliseconds,
	// so a generous bound costs nothing when it passes and leaves room for
	// a loaded CI machine under the race detector.
	wait := backgroundEvery + 30*time.Second
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if db.segs.Load().sealed[segID] == nil {
			return // compacted away
		}
		time.Sleep(50 * time.Millisecond)
	}
	sh := db.deadBySegment(db.retention())[segID]
	t.Fatalf("segment %d (every version in it droppable) still there after %v: estimated dead share %.3f < CompactAt 0.5",
		segID, wait, float64(sh.dead)/float64(sh.all))
}
