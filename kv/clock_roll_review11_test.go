package kv

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
)

// review11SetLastTS sets the pipeline's lastTS from inside the pipeline
// (its goroutine owns it), as TestCommitRefusedWhenTheClockIsBeyondTheIndex
// does to fake a clock.
func review11SetLastTS(t *testing.T, db *DB, ts int64) {
	t.Helper()
	require.NoError(t, db.commit(&commitReq{decide: func(*commitReq) error {
		db.pipe.lastTS = ts
		return nil
	}}))
}

// Review 11: runGroup refuses a commit when the clock reads past 2255,
// "before anything is written", but a roll request in a group (Compact
// sends one when the active segment holds droppable versions) is not
// checked: roll(ts) creates the next segment with the bad time as its
// base time. Once the clock is right again (lastTS never took the bad
// time: no commit succeeded), every commit is refused by the encoder
// ("timestamp before the previous one": the new segment's frames may not
// be older than its base time) until something rolls the segment, which
// nothing does while no commit gets in: writes fail until the next Open
// (which starts a new segment at the recovered time).
func TestReview11RollWithABadClockBlocksLaterCommits(t *testing.T) {
	db := openT(t, nil)
	mustPut(t, db, "r", "k", Int(1))
	good := db.pipe.lastTS // the pipeline is idle: safe to read
	// The clock jumps past what the index holds...
	review11SetLastTS(t, db, index.MaxTimestamp+1)
	_, err := db.Put("r", "k", Int(2))
	require.ErrorContains(t, err, "outside what the index holds", "commits are refused")
	// ...a roll comes meanwhile (Compact's, say): refused too, since the
	// new segment would take the time as its base...
	require.ErrorContains(t, db.commit(&commitReq{roll: true}), "outside what the index holds")
	// ...and the clock comes back (lastTS was never moved by it).
	review11SetLastTS(t, db, good)

	for i := range 3 {
		_, err = db.Put("r", "k", Int(int64(3+i)))
		require.NoError(t, err, "the clock is right again: commit %d should go through", i)
	}
	require.Equal(t, Int(5), mustGet(t, db, "r", "k").Value)
}
