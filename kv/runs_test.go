package kv_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// DropRun deletes every live key of a run in one version, leaves other
// runs alone, and survives a reopen; a run without a live key gives
// (0, nil).
func TestDropRun(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{SegmentSize: 4 << 10})
	require.NoError(t, err)
	for i := range 50 {
		_, err := db.Put("job", fmt.Sprintf("k%02d", i), kv.Int(int64(i)))
		require.NoError(t, err)
		_, err = db.Put("other", fmt.Sprintf("k%02d", i), kv.Int(int64(i)))
		require.NoError(t, err)
	}
	_, err = db.Delete("job", "k07")
	require.NoError(t, err)
	before := db.LastVersion()
	v, err := db.DropRun("job")
	require.NoError(t, err)
	require.Equal(t, before+1, v, "one version")
	keys, err := db.Keys("job", "", 0)
	require.NoError(t, err)
	require.Empty(t, keys)
	h, err := db.History("job", "k03", 0, 0)
	require.NoError(t, err)
	require.True(t, h[0].Deleted)
	require.Equal(t, v, h[0].Version)
	h, err = db.History("job", "k07", 0, 0)
	require.NoError(t, err)
	require.Less(t, h[0].Version, v, "a key deleted before is not deleted again")
	got, err := db.GetAt("job", "k03", before)
	require.NoError(t, err, "history before the drop stays readable")
	require.True(t, kv.Int(3).Equal(got.Value))
	runs, err := db.Runs()
	require.NoError(t, err)
	require.Equal(t, []kv.RunID{"other"}, runs)
	v2, err := db.DropRun("job")
	require.NoError(t, err)
	require.Zero(t, v2, "nothing left to drop")
	_, err = db.DropRun("")
	require.ErrorIs(t, err, kv.ErrInvalidRun)

	require.NoError(t, db.Close())
	db, err = kv.Open(dir, nil)
	require.NoError(t, err)
	defer db.Close()
	keys, err = db.Keys("job", "", 0)
	require.NoError(t, err)
	require.Empty(t, keys)
	keys, err = db.Keys("other", "", 0)
	require.NoError(t, err)
	require.Len(t, keys, 50)
	cs, err := db.Changes("job", "", before, 0)
	require.NoError(t, err)
	require.Len(t, cs, 49, "a deletion per live key, in the feed")
}

// ForkRun makes dst a copy of src as of a version; later writes to either
// never show in the other; a dst holding a live key is refused.
func TestForkRun(t *testing.T) {
	db := openTemp(t)
	for i := range 20 {
		_, err := db.Put("src", fmt.Sprintf("k%02d", i), kv.Int(int64(i)))
		require.NoError(t, err)
	}
	at := db.LastVersion()
	_, err := db.Put("src", "k00", kv.String("after"))
	require.NoError(t, err)
	_, err = db.Delete("src", "k01")
	require.NoError(t, err)
	_, err = db.Put("src", "late", kv.Int(1))
	require.NoError(t, err)

	v, err := db.ForkRun("src", "dst", at)
	require.NoError(t, err)
	require.Equal(t, db.LastVersion(), v)
	keys, err := db.Keys("dst", "", 0)
	require.NoError(t, err)
	require.Len(t, keys, 20, "src as of at: k01 still there, late not yet")
	got, ok, err := db.Get("dst", "k00")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, kv.Int(0).Equal(got.Value), "the value as of at")

	_, err = db.Put("dst", "k05", kv.String("dst's own"))
	require.NoError(t, err)
	s, _, err := db.Get("src", "k05")
	require.NoError(t, err)
	require.True(t, kv.Int(5).Equal(s.Value), "a write to dst does not show in src")
	_, err = db.Put("src", "k06", kv.String("src's own"))
	require.NoError(t, err)
	d, _, err := db.Get("dst", "k06")
	require.NoError(t, err)
	require.True(t, kv.Int(6).Equal(d.Value), "nor the reverse")

	_, err = db.ForkRun("src", "dst", 0)
	require.ErrorIs(t, err, kv.ErrInvalidRun, "dst holds live keys")
	_, err = db.ForkRun("src", "src", 0)
	require.ErrorIs(t, err, kv.ErrInvalidRun)
	_, err = db.ForkRun("", "x", 0)
	require.ErrorIs(t, err, kv.ErrInvalidRun)

	latest, err := db.ForkRun("src", "dst2", 0)
	require.NoError(t, err)
	keys, err = db.Keys("dst2", "", 0)
	require.NoError(t, err)
	require.Len(t, keys, 20, "src now: k01 gone, late there")
	require.Contains(t, keys, "late")
	require.NotZero(t, latest)

	_, err = db.DropRun("dst")
	require.NoError(t, err)
	_, err = db.ForkRun("src", "dst", 0)
	require.NoError(t, err, "a dropped run can be forked into again")
	v0, err := db.ForkRun("empty", "dst3", 0)
	require.NoError(t, err)
	require.Zero(t, v0, "nothing to fork")
}
