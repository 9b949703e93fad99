package kv

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Compact (KeepVersions 1, so it drops nearly everything old) runs in a
// loop while one writer overwrites a run, forks it at an older version,
// drops runs and takes checkpoints. Every fork that succeeds must read as
// its source did at the fork's version (never a value of another
// version, never a key missing), a DropRun must empty its run, and every
// checkpoint must open to the source as of its version; after a reopen
// the same.
func TestCompactRacesForkDropCheckpointReview60(t *testing.T) {
	rounds := 600
	if raceEnabled {
		rounds = 120
	}
	const nkeys = 8
	dir := t.TempDir()
	opts := &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.3}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	defer func() { db.Close() }()

	// states[v] is the src run as of version v, for the versions the
	// writer committed to src (the one writer commits every version).
	type state map[string]string
	var versions []Version
	states := map[Version]state{}
	cur := state{}
	snapshot := func() state {
		s := state{}
		for k, v := range cur {
			s[k] = v
		}
		return s
	}
	runOf := map[Version]string{}
	at := func(run string, v Version) state {
		var best Version
		for _, x := range versions {
			if runOf[x] == run && x <= v && x > best {
				best = x
			}
		}
		return states[best]
	}
	type fork struct {
		src string
		dst string
		at  Version
		ver Version
	}
	var forks []fork
	var dropped []string
	type cp struct {
		src string
		dir string
		v   Version
	}
	var cps []cp

	var done atomic.Bool
	var droppedN, trimmedForks, calls atomic.Int64
	var wg sync.WaitGroup
	var compactErr error
	wg.Go(func() {
		for !done.Load() {
			st, err := db.Compact(t.Context())
			droppedN.Add(st.VersionsDropped)
			calls.Add(1)
			if err != nil {
				compactErr = err
				return
			}
		}
	})
	check := func(db *DB, f fork, stage string) {
		want := at(f.src, f.at)
		for k := 0; k < nkeys; k++ {
			key := fmt.Sprintf("k%d", k)
			got, ok, err := db.Get(RunID(f.dst), key)
			require.NoError(t, err, "%s: fork %s at %d: Get(%s)", stage, f.dst, f.at, key)
			w, live := want[key]
			require.Equal(t, live, ok, "%s: fork %s at %d: key %s live", stage, f.dst, f.at, key)
			if ok {
				s, _ := got.Value.AsString()
				require.Equal(t, w, s, "%s: fork %s (v%d) of src at %d: key %s", stage, f.dst, f.ver, f.at, key)
			}
		}
	}
	func() {
		defer func() { done.Store(true); wg.Wait() }()
		for r := 0; r < rounds; r++ {
			src := fmt.Sprintf("src%d", r/6)
			if r%6 == 0 {
				cur = state{}
			}
			entries := make([]KeyValue, 0, nkeys)
			for k := 0; k < nkeys; k++ {
				if (r+k)%5 == 0 {
					continue
				}
				entries = append(entries, KeyValue{Key: fmt.Sprintf("k%d", k), Value: String(fmt.Sprintf("r%d-k%d-padding-padding-padding-padding", r, k))})
				cur[fmt.Sprintf("k%d", k)] = fmt.Sprintf("r%d-k%d-padding-padding-padding-padding", r, k)
			}
			v, err := db.MPut(RunID(src), entries)
			require.NoError(t, err)
			versions = append(versions, v)
			runOf[v] = src
			states[v] = snapshot()
			if r%3 == 1 {
				key := fmt.Sprintf("k%d", r%nkeys)
				if _, ok := cur[key]; ok {
					ok2, err := db.Delete(RunID(src), key)
					require.NoError(t, err)
					require.True(t, ok2)
					delete(cur, key)
					v := db.LastVersion()
					versions = append(versions, v)
					runOf[v] = src
					states[v] = snapshot()
				}
			}
			// Fork at a version a few commits back.
			if r%6 != 5 {
				continue
			}
			if r%12 == 5 {
				// Let a Compact call or two finish (bounded wait), so
				// the horizon is near the fork's version.
				c0 := calls.Load()
				for i := 0; i < 2000 && calls.Load() < c0+2 && !done.Load(); i++ {
					time.Sleep(time.Millisecond)
				}
			}
			back := versions[max(len(versions)-1-(r/6)%4, 0)]
			dst := fmt.Sprintf("dst%d", r)
			fv, err := db.ForkRun(RunID(src), RunID(dst), back)
			switch {
			case errors.Is(err, ErrHistoryTrimmed):
				trimmedForks.Add(1)
			case err != nil:
				t.Fatalf("fork at %d: %v", back, err)
			default:
				f := fork{src: src, dst: dst, at: back, ver: fv}
				check(db, f, "just after the fork")
				forks = append(forks, f)
			}
			if len(forks) > 4 {
				f := forks[0]
				forks = forks[1:]
				_, err := db.DropRun(RunID(f.dst))
				require.NoError(t, err)
				dropped = append(dropped, f.dst)
			}
			if r%30 == 5 {
				d := filepath.Join(t.TempDir(), "cp")
				cv, err := db.Checkpoint(d)
				require.NoError(t, err)
				cps = append(cps, cp{src, d, cv})
			}
			for _, f := range forks {
				check(db, f, fmt.Sprintf("round %d", r))
			}
		}
	}()
	require.NoError(t, compactErr)
	t.Logf("horizon %d, versions dropped %d, forks refused as trimmed %d, forks kept %d, checkpoints %d", db.trimmed.Load(), droppedN.Load(), trimmedForks.Load(), len(forks), len(cps))
	require.Positive(t, droppedN.Load())
	for _, d := range dropped {
		keys, err := db.Keys(RunID(d), "", 0)
		require.NoError(t, err)
		require.Empty(t, keys, "dropped run %s", d)
	}
	require.NoError(t, db.Close())
	db, err = Open(dir, opts)
	require.NoError(t, err)
	for _, f := range forks {
		check(db, f, "after reopen")
	}
	for _, d := range dropped {
		keys, err := db.Keys(RunID(d), "", 0)
		require.NoError(t, err)
		require.Empty(t, keys, "dropped run %s after reopen", d)
	}
	for _, c := range cps {
		cdb, err := Open(c.dir, &Options{ReadOnly: true})
		require.NoError(t, err, "checkpoint at %d", c.v)
		require.Equal(t, c.v, cdb.LastVersion())
		want := at(c.src, c.v)
		for k := 0; k < nkeys; k++ {
			key := fmt.Sprintf("k%d", k)
			got, ok, err := cdb.Get(RunID(c.src), key)
			require.NoError(t, err)
			w, live := want[key]
			require.Equal(t, live, ok, "checkpoint %d key %s", c.v, key)
			if ok {
				s, _ := got.Value.AsString()
				require.Equal(t, w, s, "checkpoint %d key %s", c.v, key)
			}
		}
		require.NoError(t, cdb.Close())
	}
}
