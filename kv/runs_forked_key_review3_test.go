package kv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

func TestReview3HoldsIncrCASHistoryPagingOnForkedKey(t *testing.T) {
	db, err := kv.Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer db.Close()
	r3put(t, db, "src", "n", kv.Int(1))
	r3put(t, db, "src", "n", kv.Int(2))
	r3put(t, db, "src", "n", kv.Int(3))
	_, err = db.ForkRun("src", "dst", 0)
	require.NoError(t, err)
	g, ok, err := db.Get("dst", "n")
	require.NoError(t, err)
	require.True(t, ok)
	sw, err := db.CompareAndSwapVersion("dst", "n", g.Version, kv.Int(10))
	require.NoError(t, err)
	require.True(t, sw)
	n, err := db.Incr("dst", "n", 5)
	require.NoError(t, err)
	require.EqualValues(t, 15, n)
	sg, _, _ := db.Get("src", "n")
	require.True(t, kv.Int(3).Equal(sg.Value))
	v := kv.Int(15)
	sw, err = db.CompareAndSwapValue("dst", "n", &v, kv.Int(16))
	require.NoError(t, err)
	require.True(t, sw)
	all := r3versions(t, db, "dst", "n")
	var paged []kv.Version
	before := kv.Version(0)
	for {
		h, err := db.History("dst", "n", 2, before)
		require.NoError(t, err)
		if len(h) == 0 {
			break
		}
		for _, x := range h {
			paged = append(paged, x.Version)
		}
		before = h[len(h)-1].Version
	}
	require.Equal(t, all, paged)
	require.Len(t, all, 6)
}
