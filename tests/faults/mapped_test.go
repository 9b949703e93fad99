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

func checkReopen(t *testing.T, dir string, acked int) {
	t.Helper()
	db, err := kv.Open(dir, nil)
	require.NoError(t, err)
	defer db.Close()
	require.EqualValues(t, acked, db.LastVersion())
	for i := 0; i < acked; i++ {
		v, ok, err := db.Get("r", fmt.Sprintf("k%04d", i))
		require.NoError(t, err)
		require.True(t, ok, "k%04d", i)
		require.True(t, val(i).Equal(v.Value))
	}
}

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
		acked := 0
		for i := 0; i < 300; i++ {
			if _, err := db.Put("r", fmt.Sprintf("k%04d", i), val(i)); err != nil {
				break
			}
			acked++
		}
		for i := 0; i < acked; i++ {
			v, ok, err := db.Get("r", fmt.Sprintf("k%04d", i))
			require.NoError(t, err)
			require.True(t, ok)
			require.True(t, val(i).Equal(v.Value))
		}
		db.Close()
		fs.onSync = nil
		checkReopen(t, dir, acked)
	}
}

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
	acked := 0
	for i := 0; i < 300; i++ {
		if _, err := db.Put("r", fmt.Sprintf("k%04d", i), val(i)); err != nil {
			break
		}
		acked++
	}
	require.Less(t, acked, 300)
	for i := 0; i < acked; i++ {
		v, ok, err := db.Get("r", fmt.Sprintf("k%04d", i))
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, val(i).Equal(v.Value))
	}
	_ = db.Stats()
	require.Error(t, db.Sync())
	db.Close()
	fs.onCreate = nil
	checkReopen(t, dir, acked)
}

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
	acked := 0
	for i := 0; i < 300; i++ {
		if _, err := db.Put("r", fmt.Sprintf("k%04d", i), val(i)); err != nil {
			break
		}
		acked++
	}
	require.Less(t, acked, 300)
	for i := 0; i < acked; i++ {
		_, ok, err := db.Get("r", fmt.Sprintf("k%04d", i))
		require.NoError(t, err)
		require.True(t, ok)
	}
	db.Close()
	fs.onTrunc = nil
	checkReopen(t, dir, acked)
}
