package kv

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// snapshot64 reads GetAt of every (run, key, version), History, and
// answers64's Changes and Diff.
func snapshot64(t *testing.T, db *DB, runs []RunID, keys []string) map[string]string {
	t.Helper()
	out := answers64(t, db, runs, keys)
	for _, r := range runs {
		for _, k := range keys {
			for v := Version(1); v <= db.LastVersion(); v++ {
				x, err := db.GetAt(r, k, v)
				s := fmt.Sprintf("%d:%s", x.Version, x.Value)
				if errors.Is(err, ErrNotFound) {
					s = "-"
				} else if err != nil {
					s = err.Error()
				}
				out[fmt.Sprintf("getat %s %s %d", r, k, v)] = s
			}
		}
	}
	return out
}

// With no retention, nothing may change what reads answer: Compact
// (which only merges), reopen, and a checkpoint opened read-only all
// read what the live database read, through chains of forks, drops and
// re-forks into dropped runs.
func TestReview64ForkDropDifferential(t *testing.T) {
	seeds := int64(12)
	if raceEnabled {
		seeds = 3
	}
	for seed := int64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			dir := t.TempDir()
			opts := &Options{SegmentSize: 1024, CompactAt: -1}
			db := open64(t, dir, opts)
			runs := []RunID{"a", "b", "c"}
			keys := []string{"k1", "k2", "k3"}
			for step := 0; step < 60; step++ {
				r := runs[rng.Intn(len(runs))]
				switch x := rng.Intn(10); {
				case x < 4:
					if _, err := db.Put(r, keys[rng.Intn(len(keys))], String(fmt.Sprintf("%s%d", r, step))); err != nil {
						t.Fatal(err)
					}
				case x < 5:
					if _, err := db.Delete(r, keys[rng.Intn(len(keys))]); err != nil {
						t.Fatal(err)
					}
				case x < 7:
					if _, err := db.DropRun(r); err != nil {
						t.Fatal(err)
					}
				default:
					src := runs[rng.Intn(len(runs))]
					at := Version(0)
					if rng.Intn(2) == 0 && db.LastVersion() > 0 {
						at = Version(rng.Int63n(int64(db.LastVersion()))) + 1
					}
					if _, err := db.DropRun(r); err != nil {
						t.Fatal(err)
					}
					_, err := db.ForkRun(src, r, at)
					if err != nil && !errors.Is(err, ErrInvalidRun) {
						t.Fatal(err)
					}
				}
			}
			live := snapshot64(t, db, runs, keys)
			cmp := func(stage string, got map[string]string) {
				t.Helper()
				n := 0
				for k, v := range live {
					if got[k] != v {
						if n < 6 {
							t.Errorf("%s: %s:\n  live %s\n  now  %s", stage, k, v, got[k])
						}
						n++
					}
				}
				if n > 0 {
					t.Errorf("%s: %d answers differ", stage, n)
				}
			}
			if _, err := db.Compact(context.Background()); err != nil {
				t.Fatal(err)
			}
			cmp("compact", snapshot64(t, db, runs, keys))
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = open64(t, dir, opts)
			cmp("reopen", snapshot64(t, db, runs, keys))
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			th := *opts
			th.TrustHints = true
			db = open64(t, dir, &th)
			cmp("reopen trusting hints", snapshot64(t, db, runs, keys))
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			hints, _ := filepath.Glob(filepath.Join(dir, "*.hint"))
			for _, h := range hints {
				if err := os.Remove(h); err != nil {
					t.Fatal(err)
				}
			}
			db = open64(t, dir, opts)
			cmp(fmt.Sprintf("reopen without %d hints", len(hints)), snapshot64(t, db, runs, keys))
			cp := filepath.Join(t.TempDir(), "cp")
			if _, err := db.Checkpoint(cp); err != nil {
				t.Fatal(err)
			}
			db.Close()
			ro := open64(t, cp, &Options{ReadOnly: true})
			defer ro.Close()
			cmp("checkpoint", snapshot64(t, ro, runs, keys))
		})
	}
}
