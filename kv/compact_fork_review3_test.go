package kv

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/segment"
)

// A compaction job whose policy was taken before a ForkRun, and which
// switches in after the fork returned, must not drop what the fork's
// links read: here a background-style job (compactRun with a Pace
// callback) runs while a ForkRun of a historical version commits. The
// switch only checks the readers' pins (db.pins), which ForkRun released
// when it returned, not the fork's new per-run pin, so it drops src's
// version at `at`, and dst's key, which the fork said holds it, vanishes.
func TestReview3CompactionRacingForkDropsWhatTheForkReads(t *testing.T) {
	dir := t.TempDir()
	o, err := (&Options{Retention: Retention{KeepVersions: 1}, CompactAt: -1}).normalize()
	require.NoError(t, err)
	db, err := Open(dir, &o)
	require.NoError(t, err)
	defer db.Close()
	at := mustPut(t, db, "src", "k", String("old"))
	mustPut(t, db, "src", "k", String("new"))
	for i := 0; i < 20; i++ { // something for the job to read past
		mustPut(t, db, "other", "x", Int(int64(i)))
	}
	// What Compact does, up to the job: seal the active segment, take the
	// policy, pick the runs of segments.
	require.NoError(t, db.commit(&commitReq{roll: true}))
	pol, err := db.policy()
	require.NoError(t, err)
	runs := db.runsOf(func(s segment.SegmentInfo) bool { return true })
	require.NotEmpty(t, runs)

	forked := false
	var forkV Version
	pace := func(int) {
		if forked {
			return
		}
		forked = true
		// The fork of src as of `at` commits while the job runs.
		forkV, err = db.ForkRun("src", "dst", at)
		require.NoError(t, err)
		got, ok, err := db.Get("dst", "k")
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, String("old").Equal(got.Value))
	}
	for _, run := range runs {
		_, err := db.compactRun(context.Background(), run, pol, pace)
		if err != nil {
			require.ErrorIs(t, err, errPinned) // the safe outcome: abandoned
		}
	}
	require.True(t, forked)
	require.NotZero(t, forkV)
	got, ok, err := db.Get("dst", "k")
	require.NoError(t, err)
	require.True(t, ok, "dst/k, forked from src/k as of %d (value \"old\"), is gone after a compaction that ran beside the fork", at)
	require.True(t, String("old").Equal(got.Value))
}
