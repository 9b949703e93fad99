package kv_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// The two tests below race a reader against one Compact. What they assert
// holds whatever the interleaving (the right answer, or
// ErrHistoryTrimmed); the walk over 20,000 frames of another run only
// makes it likely that the compaction's switch lands inside the read
// (20 of 20 runs on 2 cores, with and without -race).

// r47fill commits n frames to another run, so that a walk over them takes
// a while.
func r47fill(t *testing.T, db *kv.DB, n int) {
	t.Helper()
	for i := range n {
		_, err := db.Put("other", fmt.Sprintf("o%d", i%50), kv.Int(int64(i)))
		require.NoError(t, err)
	}
}

// Diff(run, from, to) while a compaction drops the version that answers
// at from: the answer is the diff or ErrHistoryTrimmed, never a key whose
// value at from equals its value at to.
func TestReview47DiffUnderCompaction(t *testing.T) {
	db, err := kv.Open(t.TempDir(), &kv.Options{Retention: kv.Retention{KeepVersions: 1}, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	for trial := range 20 {
		key := fmt.Sprintf("k%d", trial)
		from, err := db.Put("r", key, kv.Int(7))
		require.NoError(t, err)
		r47fill(t, db, 20000)
		to, err := db.Put("r", key, kv.Int(7)) // the same value: no difference
		require.NoError(t, err)
		var stop atomic.Bool
		var wg sync.WaitGroup
		var bad []string
		var diffs, trimmed int
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				ds, err := db.Diff("r", from, to)
				diffs++
				switch {
				case errors.Is(err, kv.ErrHistoryTrimmed):
					trimmed++
				case err != nil:
					bad = append(bad, err.Error())
				case len(ds) != 0:
					bad = append(bad, fmt.Sprintf("%+v", ds))
				}
			}
		}()
		_, err = db.Compact(context.Background())
		stop.Store(true)
		wg.Wait()
		require.NoError(t, err)
		if len(bad) > 0 {
			t.Fatalf("trial %d: Diff(r, %d, %d) of a key whose value is 7 at both (its version %d dropped by a concurrent Compact): %d of %d calls (%d ErrHistoryTrimmed) said %v",
				trial, from, to, from, len(bad), diffs, trimmed, bad[0])
		}
	}
}

// Changes after a version below a DropRun, while a compaction drops the
// run's deletion (and the version below it): the answer holds the
// deletion or is ErrHistoryTrimmed, never the changes without it.
func TestReview47ChangesDropRunUnderCompaction(t *testing.T) {
	db, err := kv.Open(t.TempDir(), &kv.Options{Retention: kv.Retention{KeepVersions: 1}, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	for trial := range 20 {
		run := kv.RunID(fmt.Sprintf("run%d", trial))
		after, err := db.Put(run, "k", kv.Int(1))
		require.NoError(t, err)
		r47fill(t, db, 20000)
		dv, err := db.DropRun(run)
		require.NoError(t, err)
		pv, err := db.Put(run, "k", kv.Int(2))
		require.NoError(t, err)
		want := fmt.Sprintf("[%d k deleted %d k 2]", dv, pv)
		var stop atomic.Bool
		var wg sync.WaitGroup
		var bad []string
		var calls, trimmed int
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				cs, err := db.Changes(run, "", after, 0)
				calls++
				if errors.Is(err, kv.ErrHistoryTrimmed) {
					trimmed++
					continue
				}
				if err != nil {
					bad = append(bad, err.Error())
					continue
				}
				got := "["
				for i, c := range cs {
					if i > 0 {
						got += " "
					}
					if c.Deleted {
						got += fmt.Sprintf("%d %s deleted", c.Version, c.Key)
					} else {
						v, _ := c.Value.AsInt()
						got += fmt.Sprintf("%d %s %d", c.Version, c.Key, v)
					}
				}
				got += "]"
				if got != want {
					bad = append(bad, got)
				}
			}
		}()
		_, err = db.Compact(context.Background())
		stop.Store(true)
		wg.Wait()
		require.NoError(t, err)
		if len(bad) > 0 {
			t.Fatalf("trial %d: Changes(%s, after %d) while Compact dropped the run's deletion: %d of %d calls (%d ErrHistoryTrimmed) said %v, want %s or ErrHistoryTrimmed",
				trial, run, after, len(bad), calls, trimmed, bad[0], want)
		}
	}
}
