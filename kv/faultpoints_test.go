package kv_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
)

// Fail FS operation i, for i = 0, 1, 2, ... until the workload runs clean,
// during a Strict workload with segment rolls. After each failure the
// directory must reopen (after a power loss keeping only synced data) with
// every acknowledged commit, nothing else but possibly the failed one.
func TestEveryFailurePointKeepsAcknowledgedCommits(t *testing.T) {
	points := 0
	for i := int64(0); ; i++ {
		mem := vfs.NewMem()
		efs := vfs.NewErrorFS(mem, i, false)
		acked, failed := faultWorkload(t, efs)
		if efs.Ops() <= i { // operation i never happened: the run was clean
			require.Greater(t, i, int64(50), "the workload must do real I/O")
			break
		}
		points++
		withFailed := acked
		if failed != nil {
			withFailed = acked.Clone()
			require.NoError(t, withFailed.Apply(acked.Last()+1, *failed))
		}
		for _, keep := range []float64{0, 1} {
			db, err := kvtest.OpenFS(mem.CrashClone(keep), kvtest.Dir, &kv.Options{Durability: kv.Strict})
			require.NoError(t, err, "failure point %d, keep %v", i, keep)
			if err := kvtest.Matches(db, acked, kvtest.WorkloadKeys(), 100); err != nil {
				require.NoError(t, kvtest.Matches(db, withFailed, kvtest.WorkloadKeys(), 100),
					"failure point %d keep %v: neither the acknowledged commits (%v) nor them and the failed one", i, keep, err)
			}
			require.NoError(t, db.Close())
		}
	}
	t.Logf("checked %d failure points", points)
}

// faultWorkload runs kvtest.Workload, Strict, on fs until the first
// error. It returns the model of the acknowledged commits and what the
// commit that failed predicted (nil if none, or if Open failed).
func faultWorkload(t *testing.T, fs *vfs.ErrorFS) (*kvtest.Model, *kvtest.Expect) {
	m := kvtest.NewModel()
	db, err := kvtest.OpenFS(fs, kvtest.Dir, &kv.Options{Durability: kv.Strict, SegmentSize: 400})
	if err != nil {
		var ie *vfs.InjectedError
		require.True(t, errors.As(err, &ie), "Open failed with %v", err)
		return m, nil
	}
	defer db.Close()
	for i := range 60 {
		op := kvtest.Workload(i)
		want := m.Predict(op)
		res, err := kvtest.Exec(db, op)
		if err != nil {
			var ie *vfs.InjectedError
			require.True(t, errors.As(err, &ie), "op %d failed with %v", i, err)
			if ie.Op.Kind == vfs.OpWrite || ie.Op.Kind == vfs.OpSync {
				// The page cache may have dropped the data: no retries.
				_, err2 := db.Put("r", "after-failure", kv.Int(1))
				require.Error(t, err2, "a write after a failed %v", ie.Op)
			}
			if want.Writes == nil {
				return m, nil
			}
			return m, &want
		}
		require.Equal(t, want.N, res.N, "op %d", i)
		require.NotZero(t, res.Version)
		require.NoError(t, m.Apply(res.Version, want))
	}
	return m, nil
}
