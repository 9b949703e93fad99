package kv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// apiKeys counts the live keys every run holds, as the API lists them.
func review53APIKeys(t *testing.T, db *DB) int64 {
	t.Helper()
	runs, err := db.Runs()
	require.NoError(t, err)
	var n int64
	for _, r := range runs {
		ks, err := db.Keys(r, "", 1<<30)
		require.NoError(t, err)
		n += int64(len(ks))
	}
	return n
}

// Stats.Keys is the number of live keys in all runs: what Keys lists,
// through puts, deletes, DropRun, ForkRun, metadata, compaction and
// reopen.
func TestReview53StatsKeysMatchListing(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{SegmentSize: 8 << 10, CompactAt: -1, Retention: Retention{KeepVersions: 2}}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(53, 1))
	runs := []RunID{"a", "b", "c", "d"}
	check := func(when string) {
		st := db.Stats()
		require.Equal(t, review53APIKeys(t, db), st.Keys, "%s: %+v", when, st)
	}
	for step := 0; step < 600; step++ {
		run := runs[rng.IntN(len(runs))]
		key := fmt.Sprintf("k%02d", rng.IntN(30))
		switch op := rng.IntN(100); {
		case op < 60:
			mustPut(t, db, run, key, Int(int64(step)))
		case op < 80:
			_, err := db.Delete(run, key)
			require.NoError(t, err)
		case op < 85:
			_, err := db.DropRun(run)
			require.NoError(t, err)
		case op < 90:
			dst := runs[rng.IntN(len(runs))]
			if dst != run {
				_, err := db.ForkRun(run, dst, 0)
				if err != nil {
					require.ErrorIs(t, err, ErrInvalidRun)
				}
			}
		case op < 93:
			_, err := db.Update(func(tx *Txn) error { return tx.PutMeta(key, Int(1)) })
			require.NoError(t, err)
		case op < 95:
			_, err := db.Compact(context.Background())
			require.NoError(t, err)
		default:
			check(fmt.Sprintf("step %d", step))
		}
	}
	check("end")
	before := db.Stats()
	require.NoError(t, db.Close())
	db, err = Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	after := db.Stats()
	require.Equal(t, before.Keys, after.Keys)
	require.Equal(t, before.Versions, after.Versions)
	check("reopened")
	_, err = db.Compact(context.Background())
	require.NoError(t, err)
	check("reopened, compacted")
	require.Zero(t, db.Stats().Commits)
}
