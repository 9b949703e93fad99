package faults_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
	"github.com/stretchr/testify/require"
)

// A Strict commit must not be acknowledged when an fsync that covered its
// bytes failed: after a failed fsync the kernel may have dropped the dirty
// pages and marked them clean, so a later fsync succeeding proves nothing
// (commit.go says so itself: "a second fsync would prove nothing").
//
// Here a caller of DB.Sync runs beside Strict commits. Its fsync can only
// run when flushed != synced, i.e. while a Strict group has been written
// but its leader has not taken syncMu yet: that fsync covers the group's
// bytes. It fails; the leader's own fsync must then fail too (found on
// review: it fsynced again, succeeded, and acknowledged the group).
func TestStrictNotAcknowledgedAfterAFailedFsyncOfItsBytes(t *testing.T) {
	fs := newFaultFS()
	dir := filepath.Join(t.TempDir(), "db")
	db, err := kvtest.OpenFS(fs, dir, &kv.Options{Durability: kv.Strict})
	require.NoError(t, err)
	defer db.Close()

	var inflight atomic.Int64 // index of the Put in flight (+1)
	var failedDuring atomic.Int64
	var armed atomic.Bool
	armed.Store(true)
	fs.mu.Lock()
	fs.onSync = func(p string) error {
		if !isSeg(p) {
			return nil
		}
		buf := make([]byte, 8<<10)
		st := string(buf[:runtime.Stack(buf, false)])
		if strings.Contains(st, "kv.(*DB).Sync(") && armed.CompareAndSwap(true, false) {
			failedDuring.Store(inflight.Load())
			return errInjected
		}
		return nil
	}
	fs.mu.Unlock()

	stop := make(chan struct{})
	syncErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				syncErr <- nil
				return
			default:
			}
			if err := db.Sync(); err != nil {
				syncErr <- err
				return
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	var ackedAfter []int
	for i := 0; time.Now().Before(deadline); i++ {
		inflight.Store(int64(i + 1))
		_, err := db.Put("r", fmt.Sprintf("k%06d", i), val(i))
		inflight.Store(0)
		if f := failedDuring.Load(); f == int64(i+1) && err == nil {
			ackedAfter = append(ackedAfter, i)
		}
		if err != nil {
			break
		}
	}
	close(stop)
	serr := <-syncErr
	if armed.Load() {
		t.Skip("the Sync caller never hit the window between a group's write and its fsync")
	}
	require.ErrorIs(t, serr, errInjected)
	require.Empty(t, ackedAfter,
		"Put %v was acknowledged (Strict) although the fsync that covered its bytes failed", ackedAfter)
}
