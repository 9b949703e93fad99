package kv_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// versionsOf lists the versions of a History.
func versionsOf(t *testing.T, db *kv.DB, run kv.RunID, key string) []kv.Version {
	t.Helper()
	h, err := db.History(run, key, 0, 0)
	require.NoError(t, err)
	var vs []kv.Version
	for _, x := range h {
		vs = append(vs, x.Version)
	}
	return vs
}

// A forked key's History shows src's versions up to the fork's at, then
// dst's own; a reader below the fork sees dst as it was; all of it
// survives a reopen, from hints and from the segments alone, and a
// compaction that keeps one version of src's keys.
func TestForkRunHistory(t *testing.T) {
	dir := t.TempDir()
	opts := &kv.Options{SegmentSize: 1 << 10, Retention: kv.Retention{KeepVersions: 1}, CompactAt: -1}
	db, err := kv.Open(dir, opts)
	require.NoError(t, err)
	put := func(run kv.RunID, key string, v int64) kv.Version {
		t.Helper()
		ver, err := db.Put(run, key, kv.Int(v))
		require.NoError(t, err)
		return ver
	}
	a1 := put("src", "a", 1)
	a2 := put("src", "a", 2)
	put("dst", "a", 99) // dst's own history, deleted before the fork
	_, err = db.DropRun("dst")
	require.NoError(t, err)
	before := db.LastVersion()
	at := put("src", "b", 1)
	put("src", "a", 3) // after at: not in dst
	fork, err := db.ForkRun("src", "dst", at)
	require.NoError(t, err)
	a4 := put("dst", "a", 4)
	for i := range 40 { // src moves on; retention would drop at's versions
		put("src", "a", int64(10+i))
		put("src", "b", int64(10+i))
	}

	check := func(when string) {
		t.Helper()
		require.Equal(t, []kv.Version{a4, a2, a1}, versionsOf(t, db, "dst", "a"), when)
		require.Equal(t, []kv.Version{at}, versionsOf(t, db, "dst", "b"), when)
		got, err := db.GetAt("dst", "a", fork)
		require.NoError(t, err, when)
		require.True(t, kv.Int(2).Equal(got.Value), when)
		require.Equal(t, a2, got.Version, when)
		_, err = db.GetAt("dst", "b", before)
		require.ErrorIs(t, err, kv.ErrNotFound, "%s: below the fork dst is as it was", when)
		got, err = db.GetAt("dst", "b", fork)
		require.NoError(t, err, when)
		require.True(t, kv.Int(1).Equal(got.Value), when)
		runs, err := db.Runs()
		require.NoError(t, err)
		require.Equal(t, []kv.RunID{"dst", "src"}, runs, when)
	}
	check("before compaction")
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.NotZero(t, st.VersionsDropped)
	got, err := db.GetAt("src", "a", a1)
	require.ErrorIs(t, err, kv.ErrHistoryTrimmed, "src's own history is trimmed")
	_ = got
	// What dst reads is kept: src's versions from the one at at (a2;
	// a1 went), and dst's b, src's b as of at.
	require.Equal(t, []kv.Version{a4, a2}, versionsOf(t, db, "dst", "a"))
	require.Equal(t, []kv.Version{at}, versionsOf(t, db, "dst", "b"))
	require.NoError(t, db.Close())

	for _, hints := range []bool{true, false} {
		if !hints {
			hs, _ := filepath.Glob(filepath.Join(dir, "*.hint"))
			require.NotEmpty(t, hs)
			for _, h := range hs {
				require.NoError(t, os.Remove(h))
			}
		}
		db, err = kv.Open(dir, opts)
		require.NoError(t, err)
		require.Equal(t, []kv.Version{a4, a2}, versionsOf(t, db, "dst", "a"), "hints %v", hints)
		require.Equal(t, []kv.Version{at}, versionsOf(t, db, "dst", "b"), "hints %v", hints)
		got, ok, err := db.Get("dst", "b")
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, kv.Int(1).Equal(got.Value))
		require.NoError(t, db.Close())
	}
}

// DropRun and ForkRun store one small record each, whatever the run's
// size: the segments grow by no more than a Put of a small value adds.
func TestDropForkRunBytes(t *testing.T) {
	dir := t.TempDir()
	// No background sync: its marker, landing between two of the readings
	// below under load, was counted as the call's bytes (52 against 37).
	db, err := kv.Open(dir, &kv.Options{SyncInterval: time.Hour})
	require.NoError(t, err)
	defer db.Close()
	kvs := make([]kv.KeyValue, 5000)
	for i := range kvs {
		kvs[i] = kv.KeyValue{Key: fmt.Sprintf("key-%06d", i), Value: kv.Bytes(make([]byte, 100))}
	}
	_, err = db.MPut("big", kvs)
	require.NoError(t, err)
	size := func() int64 { // the segments' bytes (files may be longer, preallocated)
		t.Helper()
		require.NoError(t, db.Sync())
		return db.Stats().LiveBytes
	}
	s0 := size()
	_, err = db.Put("other", "k", kv.Bytes(make([]byte, 100)))
	require.NoError(t, err)
	s1 := size()
	onePut := s1 - s0
	_, err = db.ForkRun("big", "copy", 0)
	require.NoError(t, err)
	s2 := size()
	_, err = db.DropRun("big")
	require.NoError(t, err)
	s3 := size()
	t.Logf("one put %d bytes, fork %d, drop %d", onePut, s2-s1, s3-s2)
	require.LessOrEqual(t, s2-s1, onePut, "ForkRun of 5000 keys")
	require.LessOrEqual(t, s3-s2, onePut, "DropRun of 5000 keys")
	keys, err := db.Keys("copy", "", 0)
	require.NoError(t, err)
	require.Equal(t, len(kvs), len(keys), "the copy's keys")
}

// A transaction that read a key of dst before a fork into dst, or listed
// dst's keys, conflicts with the fork: the key changed at the fork's
// version even though the versions it now shows are older.
func TestForkRunConflicts(t *testing.T) {
	db := openTemp(t)
	_, err := db.Put("src", "k", kv.Int(1))
	require.NoError(t, err)
	for _, list := range []bool{false, true} {
		dst := kv.RunID(fmt.Sprintf("dst-%v", list))
		_, err = db.Update(func(tx *kv.Txn) error {
			if list {
				if _, err := tx.Keys(dst, "", 0); err != nil {
					return err
				}
			} else if _, _, err := tx.Get(dst, "k"); err != nil {
				return err
			}
			if _, err := db.ForkRun("src", dst, 0); err != nil {
				return err
			}
			return tx.Put(dst, "seen", kv.Bool(false))
		})
		require.ErrorIs(t, err, kv.ErrConflict, "list %v", list)
	}
}
