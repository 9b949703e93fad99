package faults_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
	"github.com/stretchr/testify/require"
)

// putUntilFailure puts k0000, k0001, ... until a Put fails, n at most,
// and returns how many were acknowledged.
func putUntilFailure(db *kv.DB, n int) int {
	for i := 0; i < n; i++ {
		if _, err := db.Put("r", fmt.Sprintf("k%04d", i), val(i)); err != nil {
			return i
		}
	}
	return n
}

// requireAcked checks that the first acked keys hold their values.
func requireAcked(t *testing.T, db *kv.DB, acked int) {
	t.Helper()
	for i := 0; i < acked; i++ {
		v, ok, err := db.Get("r", fmt.Sprintf("k%04d", i))
		require.NoError(t, err, "k%04d", i)
		require.True(t, ok, "k%04d", i)
		require.True(t, val(i).Equal(v.Value), "k%04d", i)
	}
}

// checkReopen reopens dir and checks it holds exactly the acked puts.
func checkReopen(t *testing.T, dir string, acked int) {
	t.Helper()
	db, err := kv.Open(dir, nil)
	require.NoError(t, err)
	defer db.Close()
	require.EqualValues(t, acked, db.LastVersion())
	requireAcked(t, db, acked)
}

// A Strict fsync that fails (at the 3rd, 10th, 25th segment fsync, some
// in rolls): the database fails, acknowledged puts read back before and
// after a reopen, nothing else is there.
func TestMappedStrictFsyncFailure(t *testing.T) {
	for _, failAt := range []int{3, 10, 25} {
		fs := newFaultFS()
		dir := t.TempDir()
		db, err := kvtest.OpenFS(fs, dir, &kv.Options{Durability: kv.Strict, SegmentSize: 8 << 10})
		require.NoError(t, err)
		var n atomic.Int32
		fs.onSync = func(p string) error {
			if isSeg(p) && int(n.Add(1)) == failAt {
				return errInjected
			}
			return nil
		}
		acked := putUntilFailure(db, 300)
		requireAcked(t, db, acked)
		db.Close()
		fs.onSync = nil
		checkReopen(t, dir, acked)
	}
}

// A roll whose new segment cannot be created: the database fails, reads
// go on, and a reopen finds exactly what was acknowledged.
func TestMappedRollCreateFails(t *testing.T) {
	fs := newFaultFS()
	dir := t.TempDir()
	db, err := kvtest.OpenFS(fs, dir, &kv.Options{SyncInterval: time.Hour, SegmentSize: 8 << 10})
	require.NoError(t, err)
	fs.onCreate = func(p string) error {
		if strings.Contains(p, ".seg") {
			return errInjected
		}
		return nil
	}
	acked := putUntilFailure(db, 300)
	require.Less(t, acked, 300)
	requireAcked(t, db, acked)
	_ = db.Stats()
	require.Error(t, db.Sync())
	db.Close()
	fs.onCreate = nil
	checkReopen(t, dir, acked)
}

// Sealing a segment whose cut to its frames fails: the same.
func TestMappedSealTruncateFails(t *testing.T) {
	fs := newFaultFS()
	dir := t.TempDir()
	db, err := kvtest.OpenFS(fs, dir, &kv.Options{SyncInterval: time.Hour, SegmentSize: 8 << 10})
	require.NoError(t, err)
	fs.onTrunc = func(p string, size int64) error {
		if isSeg(p) {
			return errInjected
		}
		return nil
	}
	acked := putUntilFailure(db, 300)
	require.Less(t, acked, 300)
	requireAcked(t, db, acked)
	db.Close()
	fs.onTrunc = nil
	checkReopen(t, dir, acked)
}
