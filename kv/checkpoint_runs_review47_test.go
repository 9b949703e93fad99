package kv_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

func r47feed(t *testing.T, db *kv.DB, run kv.RunID, upto kv.Version) []string {
	t.Helper()
	var out []string
	for after := kv.Version(0); ; {
		cs, err := db.Changes(run, "", after, 7)
		require.NoError(t, err)
		for _, c := range cs {
			if c.Version > upto {
				return out
			}
			v, _ := c.Value.AsInt()
			out = append(out, fmt.Sprintf("%d %s %d %v", c.Version, c.Key, v, c.Deleted))
		}
		if len(cs) == 0 {
			return out
		}
		after = cs[len(cs)-1].Version
	}
}

// Checkpoints taken while writers put, drop and fork runs and Compact
// merges small segments (no retention) open to the database at their
// version with its whole history: each run's change feed up to the
// version, Diff from 0 and Runs are the source's.
func TestReview47CheckpointHistoryWithRunEvents(t *testing.T) {
	src := t.TempDir()
	db, err := kv.Open(src, &kv.Options{SegmentSize: 4 << 10})
	require.NoError(t, err)
	defer db.Close()
	runs := []kv.RunID{"a", "b", "c"}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			run := runs[i%3]
			var err error
			switch i % 23 {
			case 7:
				_, err = db.DropRun(run)
			case 13:
				_, err = db.ForkRun(runs[(i+1)%3], run, 0)
				if errors.Is(err, kv.ErrInvalidRun) { // dst held a live key
					err = nil
				}
			default:
				_, err = db.Put(run, fmt.Sprintf("k%d", i%11), kv.Int(int64(i)))
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for !stop.Load() {
			if _, err := db.Compact(t.Context()); err != nil {
				t.Error(err)
				return
			}
		}
	})
	type cp struct {
		dir string
		v   kv.Version
	}
	var cps []cp
	for i := range 8 {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("cp%d", i))
		v, err := db.Checkpoint(dir)
		require.NoError(t, err)
		cps = append(cps, cp{dir, v})
	}
	stop.Store(true)
	wg.Wait()
	for _, c := range cps {
		cdb, err := kv.Open(c.dir, nil)
		require.NoError(t, err)
		require.Equal(t, c.v, cdb.LastVersion())
		for _, run := range runs {
			require.Equal(t, r47feed(t, db, run, c.v), r47feed(t, cdb, run, c.v), "run %s at %d", run, c.v)
			want, err := db.Diff(run, 0, c.v)
			require.NoError(t, err)
			got, err := cdb.Diff(run, 0, c.v)
			require.NoError(t, err)
			require.Equal(t, want, got, "run %s at %d", run, c.v)
		}
		var want []kv.RunID
		require.NoError(t, db.ViewAt(c.v, func(tx *kv.Txn) error {
			for _, run := range runs {
				if ks, _ := tx.Keys(run, "", 1); len(ks) > 0 {
					want = append(want, run)
				}
			}
			return nil
		}))
		got, err := cdb.Runs()
		require.NoError(t, err)
		require.True(t, slices.Equal(want, got), "Runs at %d: %v, want %v", c.v, got, want)
		require.NoError(t, cdb.Close())
	}
}
