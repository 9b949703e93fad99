package kv

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// review54Hang is how long a test waits before it calls a call hung: a
// liveness bound, not a timing assertion (the calls it bounds take
// microseconds when they return at all).
const review54Hang = 60 * time.Second

// Update's doc: "fn may call db's methods". Stats "works on a closed DB
// too"; it waited for a Close that had begun to finish. But
// Close waits for the transaction functions in flight: a View (or Update)
// function that calls Stats while another goroutine's Close runs waits
// for that Close, which waits for it. Expected: Stats returns (figures,
// as after Close, or as before) and View returns; got: a deadlock, of
// View, Stats and Close alike.
func TestReview54StatsInsideViewWhileCloseRunsDeadlocks(t *testing.T) {
	for _, name := range []string{"View", "Update"} {
		t.Run(name, func(t *testing.T) {
			db, err := Open(t.TempDir(), nil)
			require.NoError(t, err)
			mustPut(t, db, DefaultRun, "k", Int(1))

			inFn := make(chan struct{})
			proceed := make(chan struct{})
			txnDone := make(chan error, 1)
			fn := func(tx *Txn) error {
				close(inFn)
				<-proceed
				st := db.Stats() // "fn may call db's methods"
				_ = st
				return nil
			}
			go func() {
				if name == "View" {
					txnDone <- db.View(fn)
				} else {
					_, err := db.Update(fn)
					txnDone <- err
				}
			}()
			<-inFn
			closeDone := make(chan error, 1)
			go func() { closeDone <- db.Close() }()
			for !db.closed.Load() { // Close has begun (and waits for fn)
				runtime.Gosched()
			}
			close(proceed)

			select {
			case err := <-txnDone:
				require.NoError(t, err)
			case <-time.After(review54Hang):
				t.Fatalf("%s whose fn calls Stats while Close runs never returned: Stats waits for Close, Close waits for fn (deadlock)", name)
			}
			select {
			case err := <-closeDone:
				require.NoError(t, err)
			case <-time.After(review54Hang):
				t.Fatal("Close never returned")
			}
		})
	}
}
