package kv_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

func TestReview3HoldsStatsChangesDiffAcrossForkDrop(t *testing.T) {
	db, err := kv.Open(t.TempDir(), &kv.Options{SegmentSize: 400, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	for _, k := range []string{"a", "b", "p/1", "p/2"} {
		r3put(t, db, "src", k, kv.Int(1))
	}
	_, err = db.ForkRun("src", "dst", 0)
	require.NoError(t, err)
	st := db.Stats()
	t.Logf("after fork: %+v", st)
	require.EqualValues(t, 8, st.Keys)
	_, err = db.DropRun("src")
	require.NoError(t, err)
	st = db.Stats()
	t.Logf("after drop: %+v", st)
	require.EqualValues(t, 4, st.Keys)

	// feed of dst with prefix
	cs, err := db.Changes("dst", "p/", 0, 0)
	require.NoError(t, err)
	t.Logf("changes dst p/: %+v", cs)
	require.Len(t, cs, 2)
	cs, err = db.Changes("src", "p/", 0, 0)
	require.NoError(t, err)
	t.Logf("changes src p/: %+v", cs)
	require.Len(t, cs, 4)
	d, err := db.Diff("dst", 1, db.LastVersion())
	require.NoError(t, err)
	t.Logf("diff dst: %+v", d)
	require.Len(t, d, 4)
	d, err = db.Diff("src", 4, db.LastVersion())
	require.NoError(t, err)
	require.Len(t, d, 4)
	for _, c := range d {
		require.True(t, c.Deleted)
	}
	_ = context.Background
}
