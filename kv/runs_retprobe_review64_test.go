package kv

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// Under retention, each read after Compact (and after reopen) answers as
// the live database did or says ErrHistoryTrimmed; reads at the newest
// version always answer as before.
func TestReview64ForkDropRetentionProbe(t *testing.T) {
	seeds := int64(30)
	if raceEnabled {
		seeds = 4
	}
	for seed := int64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			dir := t.TempDir()
			opts := &Options{SegmentSize: 1024, CompactAt: -1, Retention: Retention{KeepVersions: 1 + int(seed%2)}}
			db := open64(t, dir, opts)
			defer func() { db.Close() }()
			runs := []RunID{"a", "b", "c"}
			keys := []string{"k1", "k2", "k3"}
			var live map[string]string
			check := func(stage string) {
				t.Helper()
				got := map[string]string{}
				for _, r := range runs {
					for _, k := range keys {
						for v := Version(1); v <= db.LastVersion(); v++ {
							x, err := db.GetAt(r, k, v)
							s := fmt.Sprintf("%d:%s", x.Version, x.Value)
							if errors.Is(err, ErrNotFound) {
								s = "-"
							} else if errors.Is(err, ErrHistoryTrimmed) {
								s = "trimmed"
							} else if err != nil {
								t.Fatal(err)
							}
							key := fmt.Sprintf("getat %s %s %d", r, k, v)
							got[key] = s
							if live != nil && s != live[key] && (s != "trimmed" || v == db.LastVersion()) {
								t.Errorf("%s: %s: live %s, now %s", stage, key, live[key], s)
							}
						}
						h, err := db.History(r, k, 0, 0)
						if err != nil {
							t.Fatal(err)
						}
						var hs []string
						for _, x := range h {
							hs = append(hs, fmt.Sprintf("%d:%s:%v", x.Version, x.Value, x.Deleted))
						}
						key := fmt.Sprintf("history %s %s", r, k)
						got[key] = strings.Join(hs, " ")
						if live != nil && !strings.HasPrefix(live[key], got[key]) {
							// retention keeps a suffix-free prefix of newest versions
							// (but for pins); at least the newest must match
							if len(hs) == 0 && live[key] != "" || len(hs) > 0 && !strings.HasPrefix(live[key], hs[0]) {
								t.Errorf("%s: %s: live %q, now %q", stage, key, live[key], got[key])
							}
						}
					}
				}
				if live == nil {
					live = got
				}
			}
			for step := 0; step < 50; step++ {
				r := runs[rng.Intn(len(runs))]
				switch x := rng.Intn(10); {
				case x < 5:
					if _, err := db.Put(r, keys[rng.Intn(len(keys))], String(fmt.Sprintf("%s%d", r, step))); err != nil {
						t.Fatal(err)
					}
				case x < 6:
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
					if err != nil && !errors.Is(err, ErrInvalidRun) && !errors.Is(err, ErrHistoryTrimmed) {
						t.Fatal(err)
					}
				}
				if rng.Intn(8) == 0 {
					live = nil
					check("before compact")
					if _, err := db.Compact(context.Background()); err != nil {
						t.Fatal(err)
					}
					check(fmt.Sprint("compact at step ", step))
					if rng.Intn(2) == 0 {
						if err := db.Close(); err != nil {
							t.Fatal(err)
						}
						db = open64(t, dir, opts)
						check(fmt.Sprint("reopen at step ", step))
					}
				}
			}
		})
	}
}
