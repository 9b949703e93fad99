package faults_test

import (
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
	"github.com/stretchr/testify/require"
)

// In Strict mode no reader sees a version while its group's fsync is in
// flight, and a group whose fsync fails is never seen at all, not even
// after a reopen (mutant: the versions published before the group is
// written and synced).
func TestNoVersionVisibleWhileItsFsyncRuns(t *testing.T) {
	fs := newFaultFS()
	dir := filepath.Join(t.TempDir(), "db")
	db, err := kvtest.OpenFS(fs, dir, &kv.Options{Durability: kv.Strict})
	require.NoError(t, err)
	_, err = db.Put("r", "k0", val(0))
	require.NoError(t, err)
	before := db.LastVersion()

	inSync := make(chan struct{})
	release := make(chan error)
	var armed atomic.Bool
	armed.Store(true)
	fs.onSync = func(p string) error {
		if isSeg(p) && armed.CompareAndSwap(true, false) {
			close(inSync)
			return <-release
		}
		return nil
	}
	done := make(chan error, 1)
	go func() {
		_, err := db.Put("r", "k1", val(1))
		done <- err
	}()
	<-inSync // the group is written; its fsync has not returned
	require.Equal(t, before, db.LastVersion(), "a version visible while its fsync runs")
	_, ok, err := db.Get("r", "k1")
	require.NoError(t, err)
	require.False(t, ok, "k1 readable while its fsync runs")

	release <- errInjected
	require.ErrorIs(t, <-done, errInjected)
	require.Equal(t, before, db.LastVersion(), "a failed fsync published its group")
	_, ok, err = db.Get("r", "k1")
	require.NoError(t, err)
	require.False(t, ok)
	db.Close()

	fs.onSync = nil
	db2, err := kv.Open(dir, nil)
	require.NoError(t, err)
	defer db2.Close()
	require.Equal(t, before, db2.LastVersion())
	_, ok, err = db2.Get("r", "k1")
	require.NoError(t, err)
	require.False(t, ok, "the failed group is in the file")
}
