package kv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// modelVersion is a version a model key holds: its value (nil: deleted).
type modelVersion struct {
	v   Version
	val *string
}

// Background compaction, looking at every few segment rolls under random
// overwrites and deletes of keys of mixed value sizes, never loses what
// retention keeps nor answers a read with a wrong value: after each
// look, Get of every key is its newest version, History(keep) its newest
// keep versions (a deleted key's may end early: it vanishes once its
// history is gone), and GetAt of versions ever written is its value,
// ErrNotFound where the key was absent, or ErrHistoryTrimmed.
func TestBackgroundCompactionAgainstModel(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		keep := 1 + int(seed%3)
		t.Run(fmt.Sprintf("seed%d-keep%d", seed, keep), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 25))
			db := openT(t, &Options{SegmentSize: 4<<10 + int64(rng.IntN(8<<10)),
				Retention: Retention{KeepVersions: keep}, CompactAt: 0.5})
			holdBackground(db)
			defer func() { <-db.compact.sem }()
			model := map[string][]modelVersion{} // oldest first
			var all []Version
			keys := 40 + rng.IntN(80)
			looks, jobs := 0, 0 // jobs: segments rewritten
			for step := range 2000 {
				k := fmt.Sprintf("k%03d", rng.IntN(keys))
				if rng.IntN(4) == 0 {
					k = fmt.Sprintf("k%03d", rng.IntN(5)) // hot keys
				}
				if rng.IntN(10) == 0 {
					if ok, err := db.Delete("r", k); err != nil || !ok {
						require.NoError(t, err)
						continue
					}
					v := db.LastVersion()
					model[k] = append(model[k], modelVersion{v, nil})
					all = append(all, v)
				} else {
					s := randString(rng, 1+rng.IntN([]int{20, 300, 3000}[rng.IntN(3)]))
					v, err := db.Put("r", k, String(s))
					require.NoError(t, err)
					model[k] = append(model[k], modelVersion{v, &s})
					all = append(all, v)
				}
				if step%40 == 39 {
					before := db.segs.Load().sealed
					db.backgroundPass()
					looks++
					for id := range before {
						if db.segs.Load().sealed[id] == nil {
							jobs++ // a segment rewritten
						}
					}
					checkAgainstModel(t, db, rng, model, all, keep)
				}
			}
			t.Logf("%d looks, %d segments rewritten, %d dead bytes left", looks, jobs, db.Stats().DeadBytes)
			require.Positive(t, jobs, "background compaction rewrote segments")
		})
	}
}

// checkAgainstModel checks Get and History of every key of the model, and
// GetAt of each at 20 versions picked at random.
func checkAgainstModel(t *testing.T, db *DB, rng *rand.Rand, model map[string][]modelVersion, all []Version, keep int) {
	t.Helper()
	for k, vs := range model {
		newest := vs[len(vs)-1]
		got, ok, err := db.Get("r", k)
		require.NoError(t, err)
		require.Equal(t, newest.val != nil, ok, "Get %s", k)
		if ok {
			require.Equal(t, newest.v, got.Version, "Get %s", k)
			require.Equal(t, String(*newest.val), got.Value, "Get %s", k)
		}
		h, err := db.History("r", k, keep, 0)
		require.NoError(t, err)
		want := min(keep, len(vs))
		if newest.val != nil {
			require.Len(t, h, want, "History %s", k)
		} else {
			require.LessOrEqual(t, len(h), want, "History %s", k)
		}
		for i, e := range h {
			m := vs[len(vs)-1-i]
			require.Equal(t, m.v, e.Version, "History %s [%d]", k, i)
			require.Equal(t, m.val == nil, e.Deleted, "History %s [%d]", k, i)
			if m.val != nil {
				require.Equal(t, String(*m.val), e.Value, "History %s [%d]", k, i)
			}
		}
		for range 20 {
			at := all[rng.IntN(len(all))]
			var m *modelVersion
			for i := range vs {
				if vs[i].v <= at {
					m = &vs[i]
				}
			}
			got, err := db.GetAt("r", k, at)
			switch {
			case errors.Is(err, ErrHistoryTrimmed):
			case m == nil || m.val == nil:
				require.ErrorIs(t, err, ErrNotFound, "GetAt %s %d", k, at)
			default:
				require.NoError(t, err, "GetAt %s %d", k, at)
				require.Equal(t, m.v, got.Version, "GetAt %s %d", k, at)
				require.Equal(t, String(*m.val), got.Value, "GetAt %s %d", k, at)
			}
		}
	}
}
