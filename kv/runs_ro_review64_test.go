package kv

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"reflect"
	"testing"
)

// answers64 collects what Changes (every after, paged), Diff (pairs of
// versions), Runs, Keys and History read.
func answers64(t *testing.T, db *DB, runs []RunID, keys []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	last := db.LastVersion()
	for _, run := range runs {
		for after := Version(0); after <= last; after++ {
			var all []string
			a := after
			var err error
			for {
				var cs []Change
				cs, err = db.Changes(run, "", a, 3)
				if err != nil || len(cs) == 0 {
					break
				}
				for _, c := range cs {
					all = append(all, fmt.Sprintf("%s@%d=%s/%v", c.Key, c.Version, c.Value, c.Deleted))
				}
				a = cs[len(cs)-1].Version
			}
			if errors.Is(err, ErrHistoryTrimmed) {
				all = []string{"trimmed"}
			} else if err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("changes %s %d", run, after)] = fmt.Sprint(all)
		}
		for from := Version(0); from <= last; from += 3 {
			for to := from; to <= last; to += 5 {
				d, err := db.Diff(run, from, to)
				s := fmt.Sprint(d)
				if errors.Is(err, ErrHistoryTrimmed) {
					s = "trimmed"
				} else if err != nil {
					t.Fatal(err)
				}
				out[fmt.Sprintf("diff %s %d %d", run, from, to)] = s
			}
		}
		for _, k := range keys {
			h, err := db.History(run, k, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("history %s %s", run, k)] = fmt.Sprint(h)
		}
		ks, err := db.Keys(run, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		out["keys "+string(run)] = fmt.Sprint(ks)
	}
	rs, err := db.Runs()
	if err != nil {
		t.Fatal(err)
	}
	out["runs"] = fmt.Sprint(rs)
	out["last"] = fmt.Sprint(last)
	return out
}

// A database with forks, drops and compactions reads the same opened
// for writing, opened read-only, and as a checkpoint opened read-only.
func TestReview64ReadOnlySameAnswers(t *testing.T) {
	for seed := int64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			dir := t.TempDir()
			opts := &Options{SegmentSize: 2048, CompactAt: -1, Retention: Retention{KeepVersions: 3}}
			if seed%2 == 0 {
				opts.Retention = Retention{}
			}
			db := open64(t, dir, opts)
			runs := []RunID{"a", "b", "c", "d"}
			keys := []string{"k1", "k2", "k3", "k4"}
			for step := 0; step < 120; step++ {
				r := runs[rng.Intn(len(runs))]
				switch x := rng.Intn(20); {
				case x < 12:
					if _, err := db.Put(r, keys[rng.Intn(len(keys))], String(fmt.Sprintf("%s%d-%s", r, step, string(make([]byte, rng.Intn(100)))))); err != nil {
						t.Fatal(err)
					}
				case x < 14:
					if _, err := db.Delete(r, keys[rng.Intn(len(keys))]); err != nil {
						t.Fatal(err)
					}
				case x < 16:
					if _, err := db.DropRun(r); err != nil {
						t.Fatal(err)
					}
				case x < 18:
					src := runs[rng.Intn(len(runs))]
					at := Version(0)
					if rng.Intn(2) == 0 && db.LastVersion() > 0 {
						at = Version(rng.Int63n(int64(db.LastVersion()))) + 1
					}
					_, err := db.ForkRun(src, r, at)
					if err != nil && !errors.Is(err, ErrInvalidRun) && !errors.Is(err, ErrHistoryTrimmed) {
						t.Fatal(err)
					}
				case x < 19:
					if _, err := db.Compact(context.Background()); err != nil {
						t.Fatal(err)
					}
				default:
					if err := db.Close(); err != nil {
						t.Fatal(err)
					}
					db = open64(t, dir, opts)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = open64(t, dir, opts)
			rw := answers64(t, db, runs, keys)
			cp := filepath.Join(t.TempDir(), "cp")
			if _, err := db.Checkpoint(cp); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{dir, cp} {
				ro := open64(t, d, &Options{ReadOnly: true})
				got := answers64(t, ro, runs, keys)
				ro.Close()
				n := 0
				for k, v := range rw {
					if got[k] != v && n < 8 {
						n++
						t.Errorf("%s: %s:\n  rw %s\n  ro %s", filepath.Base(d), k, v, got[k])
					}
				}
				if !reflect.DeepEqual(rw, got) && n == 0 {
					t.Errorf("%s: answers differ", d)
				}
			}
		})
	}
}
