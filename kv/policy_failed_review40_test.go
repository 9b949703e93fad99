package kv

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// policy() says, where the active segment is nil, "a roll failed: the
// database has failed" and returns db.failed(). But roll stores the
// table without an active segment before its caller records the failure
// (runGroup: roll returns, then db.fail): in between, policy() returns
// a zero Policy (no Retention, Pin 0, Now 0) with a nil error, and its
// callers take it for a policy. (Compact's loop then finds nothing dead
// under it and returns nil, its "every version outside Retention is
// trimmed" untrue, on a database that has failed.)
// Fixed: policy() returns errNoActive where the failure is not yet
// recorded.
func TestReview40PolicyZeroWithoutError(t *testing.T) {
	const trials = 300
	hits := 0
	for trial := 0; trial < trials && hits == 0; trial++ {
		mem := vfs.NewMem()
		efs := vfs.NewErrorFS(mem, -1, false)
		db, err := openMem(t, efs, Options{SegmentSize: 64 << 10, CompactAt: -1, Retention: Retention{KeepVersions: 1}})
		require.NoError(t, err)
		mustPut(t, db, "r", "k", Int(1))
		efs.FailWhen(func(op vfs.Op) bool { return op.Kind == vfs.OpCreate && strings.Contains(op.Path, ".seg") })

		var stop atomic.Bool
		var zero atomic.Int64
		var wg sync.WaitGroup
		started := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			close(started)
			for !stop.Load() {
				pol, err := db.policy()
				if err == nil && pol.Now == 0 {
					zero.Add(1)
				}
				if db.failed() != nil {
					return
				}
			}
		}()
		<-started
		require.Error(t, db.commit(&commitReq{roll: true}))
		stop.Store(true)
		wg.Wait()
		require.Error(t, db.failed())
		efs.FailWhen(nil)
		if zero.Load() > 0 {
			hits++
			t.Logf("trial %d: policy() returned a zero Policy and a nil error %d times", trial, zero.Load())
		}
		_ = db.Close()
	}
	require.Zero(t, hits, "policy() returned (Policy{}, nil) while the failed roll was not yet recorded")
}

// The consequence for Compact: a Compact waiting for the token while a
// roll fails, given the token in that window, finds nothing dead under
// the zero Policy and returns nil: the database has failed and k's
// version outside Retention (KeepVersions 1) is still there, though
// "when it returns nil every version outside Retention is trimmed".
// Fixed: policy() returns errNoActive where the failure is not yet
// recorded.
func TestReview40CompactNilOnFailedRoll(t *testing.T) {
	const trials = 20000 // the window is a few microseconds: about 1 trial in 1500 hits it
	bad := 0
	for trial := 0; trial < trials && bad == 0; trial++ {
		mem := vfs.NewMem()
		efs := vfs.NewErrorFS(mem, -1, false)
		db, err := openMem(t, efs, Options{SegmentSize: 64 << 10, CompactAt: -1, Retention: Retention{KeepVersions: 1}})
		require.NoError(t, err)
		mustPut(t, db, "r", "k", Int(1))
		require.NoError(t, db.commit(&commitReq{roll: true}))
		mustPut(t, db, "r", "k", Int(2)) // k=1 (sealed) is outside Retention

		holdBackground(db) // Compact waits for the token
		type result struct {
			st  CompactStats
			err error
		}
		done := make(chan result, 1)
		go func() {
			st, err := db.Compact(t.Context())
			done <- result{st, err}
		}()
		for db.compact.hurry.Load() == 0 {
			runtime.Gosched()
		}
		// The token goes to Compact once the roll below has removed the
		// active segment (whether or not the failure is recorded yet).
		released := make(chan struct{})
		go func() {
			defer close(released)
			for db.segs.Load().active != nil && db.failed() == nil {
			}
			<-db.compact.sem
		}()
		efs.FailWhen(func(op vfs.Op) bool { return op.Kind == vfs.OpCreate && strings.Contains(op.Path, ".seg") })
		require.Error(t, db.commit(&commitReq{roll: true}))
		<-released
		r := <-done
		efs.FailWhen(nil)
		require.Error(t, db.failed())
		if r.err == nil {
			h, herr := db.History("r", "k", 0, 0)
			require.NoError(t, herr)
			t.Logf("trial %d: Compact returned nil (%+v) on a failed database; k's history holds %d versions", trial, r.st, len(h))
			if len(h) > 1 {
				bad++
			}
		}
		_ = db.Close()
	}
	require.Zero(t, bad, "Compact returned nil with a version outside Retention left, after a failed roll")
}
