package kv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// r51BuildDir is r51Build on the OS file system.
func r51BuildDir(t testing.TB, dir string, opts Options, seed uint64, cycles, opsPer int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 51))
	for range cycles {
		db, err := Open(dir, &opts)
		require.NoError(t, err)
		for range opsPer {
			r51Op(t, db, r)
		}
		require.NoError(t, db.Close())
	}
}

// Checkpoints taken while a writer runs random operations (puts,
// deletions, batches, DropRun, ForkRun), while the background merges the
// small segments of twenty Opens and Compact runs, each open (read-only
// and writable) at exactly the version Checkpoint returned, answering
// every read as the source answers it as of that version: History,
// GetAt at every version, Changes, Keys as of older versions, and Runs.
// The source is unharmed: it reopens with the same answers.
func TestReview51CheckpointDuringMergesHoldsAPrefix(t *testing.T) {
	src := t.TempDir()
	build := Options{CompactAt: -1, SegmentSize: 1 << 20}
	r51BuildDir(t, src, build, 11, 20, 10)

	opts := build
	opts.CompactAt = 0.5 // the background merges at Open
	db, err := Open(src, &opts)
	require.NoError(t, err)

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			if _, err := db.Compact(context.Background()); err != nil {
				t.Error(err)
				return
			}
			runtime.Gosched() // let a Checkpoint take the token
		}
	})
	type cp struct {
		dir string
		v   Version
	}
	var cps []cp
	root := t.TempDir()
	r := rand.New(rand.NewPCG(99, 51))
	rounds := 10
	if raceEnabled {
		rounds = 3 // about thirty times slower
	}
	for i := range rounds {
		// A chunk of writes, and a checkpoint taken while they run.
		var chunk sync.WaitGroup
		chunk.Go(func() {
			for range 300 {
				if err := r51Do(db, r); err != nil {
					t.Error(err)
					return
				}
			}
		})
		dir := filepath.Join(root, fmt.Sprintf("cp%d", i))
		v, err := db.Checkpoint(dir)
		require.NoError(t, err)
		cps = append(cps, cp{dir, v})
		chunk.Wait()
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d checkpoints, versions %d to %d", len(cps), cps[0].v, cps[len(cps)-1].v)
	require.Greater(t, cps[len(cps)-1].v, cps[0].v, "the writer went on meanwhile")

	r51StableHistory = true
	defer func() { r51StableHistory = false }()
	for _, c := range cps {
		want := r51SnapAt(t, db, c.v)
		var runs []RunID
		for _, run := range r51Runs {
			err := db.ViewAt(c.v, func(tx *Txn) error {
				ks, err := tx.Keys(run, "", 1)
				if len(ks) > 0 {
					runs = append(runs, run)
				}
				return err
			})
			require.NoError(t, err)
		}
		slices.Sort(runs)
		for _, ro := range []bool{true, false} {
			cdb, err := Open(c.dir, &Options{ReadOnly: ro, CompactAt: -1})
			require.NoError(t, err, "checkpoint at %d", c.v)
			require.Equal(t, c.v, cdb.LastVersion(), "checkpoint at %d", c.v)
			got := r51SnapAt(t, cdb, c.v)
			gotRuns, err := cdb.Runs()
			require.NoError(t, err)
			require.NoError(t, cdb.Close())
			require.Empty(t, r51Diff(want, got), "checkpoint at %d (read-only %v)", c.v, ro)
			require.Equal(t, runs, gotRuns, "checkpoint at %d: Runs", c.v)
		}
	}
	r51StableHistory = false
	whole := r51Snap(t, db)
	require.NoError(t, db.Close())
	db, err = Open(src, &Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	require.Empty(t, r51Diff(whole, r51Snap(t, db)), "the source reopened")
}

// A read-only Open of a directory a writable DB of this process has
// open (merging its small segments in the background, and compacting)
// fails with ErrLocked, and one of a checkpoint of it opens and reads
// while the source goes on merging and compacting.
func TestReview51ReadOnlyOpenBesideAMergingWriter(t *testing.T) {
	src := t.TempDir()
	r51BuildDir(t, src, Options{CompactAt: -1}, 21, 20, 10)
	db, err := Open(src, &Options{Retention: Retention{KeepVersions: 1}})
	require.NoError(t, err)
	defer db.Close()
	cp := filepath.Join(t.TempDir(), "cp")
	v, err := db.Checkpoint(cp)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 5 {
			if _, err := db.Compact(context.Background()); err != nil {
				t.Error(err)
			}
			if _, err := db.Put("ra", "k0", Int(1)); err != nil {
				t.Error(err)
			}
		}
	})
	for range 5 {
		_, err := Open(src, &Options{ReadOnly: true})
		require.ErrorIs(t, err, ErrLocked)
		ro, err := Open(cp, &Options{ReadOnly: true})
		require.NoError(t, err)
		require.Equal(t, v, ro.LastVersion())
		_, err = ro.History("ra", "k0", 0, 0)
		require.NoError(t, err)
		require.NoError(t, ro.Close())
	}
	wg.Wait()
}
