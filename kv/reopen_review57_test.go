package kv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Changes, Diff, History and Range of runs made by ForkRun and DropRun,
// after compaction under retention: what a reopen answers equals what
// the DB answered before it closed (a reopen may only add
// ErrHistoryTrimmed, never answer differently).
func TestReview57ReopenAnswersSame(t *testing.T) {
	seeds := uint64(6)
	if raceEnabled {
		seeds = 2
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := t.TempDir()
			opts := &Options{SegmentSize: 4 << 10, CompactAt: -1, Retention: Retention{KeepVersions: int(seed%3) + 1}}
			db, err := Open(dir, opts)
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(seed, 57))
			runs := []RunID{"r1", "r2", "r3"}
			keys := []string{"a", "b", "c", "d", "e"}
			for i := 0; i < 400; i++ {
				run := runs[rng.IntN(3)]
				k := keys[rng.IntN(len(keys))]
				switch x := rng.IntN(100); {
				case x < 60:
					_, err = db.Put(run, k, Int(int64(i)))
				case x < 80:
					_, err = db.Delete(run, k)
				case x < 88:
					_, err = db.DropRun(run)
				case x < 96:
					src := runs[rng.IntN(3)]
					if src == run {
						continue
					}
					if _, err = db.DropRun(run); err != nil {
						break
					}
					at := Version(max(1, int(db.LastVersion())-rng.IntN(20)))
					_, err = db.ForkRun(src, run, at)
					if errors.Is(err, ErrHistoryTrimmed) {
						err = nil
					}
				default:
					_, err = db.Compact(context.Background())
				}
				require.NoError(t, err)
			}
			_, err = db.Compact(context.Background())
			require.NoError(t, err)
			last := db.LastVersion()
			type answers map[string]string
			collect := func(db *DB) answers {
				a := answers{}
				str := func(x any, err error) string {
					if errors.Is(err, ErrHistoryTrimmed) {
						return "TRIMMED"
					}
					require.NoError(t, err)
					return fmt.Sprintf("%v", x)
				}
				for _, run := range runs {
					for v := Version(0); v <= last; v += 3 {
						cs, err := db.Changes(run, "", v, 1000)
						a[fmt.Sprintf("changes %s %d", run, v)] = str(cs, err)
						d, err := db.Diff(run, v, last)
						a[fmt.Sprintf("diff %s %d", run, v)] = str(d, err)
					}
					for _, k := range keys {
						h, err := db.History(run, k, 0, 0)
						a[fmt.Sprintf("history %s %s", run, k)] = str(h, err)
					}
					p, err := db.Range(run, RangeOptions{})
					a[fmt.Sprintf("range %s", run)] = str(p, err)
				}
				return a
			}
			before := collect(db)
			require.NoError(t, db.Close())
			db, err = Open(dir, opts)
			require.NoError(t, err)
			defer db.Close()
			after := collect(db)
			same, trimmed := 0, 0
			for q, b := range before {
				if after[q] == b && b != "TRIMMED" {
					same++
				} else if after[q] == "TRIMMED" && b != "TRIMMED" {
					trimmed++
				}
			}
			t.Logf("%d answers the same, %d answered before reopen but ErrHistoryTrimmed after (the documented horizon at Open), of %d", same, trimmed, len(before))
			for q, b := range before {
				if a := after[q]; a != b && a != "TRIMMED" {
					t.Errorf("%s:\n before reopen %s\n after reopen  %s", q, b, a)
				}
			}
		})
	}
}
