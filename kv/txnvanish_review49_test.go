package kv

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// blockPipeline makes a commit leader that waits in its decide function
// until the returned release is called, so that the commits queued
// meanwhile (followers) wait for it. It returns once the leader waits.
func blockPipeline(t *testing.T, db *DB) (release func()) {
	t.Helper()
	entered, gate, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.commit(&commitReq{decide: func(r *commitReq) error {
			close(entered)
			<-gate
			r.reset() // writes nothing
			return nil
		}})
	}()
	<-entered
	return func() {
		close(gate)
		require.NoError(t, <-done)
	}
}

// waitQueued returns once n commit requests wait behind the leader.
func waitQueued(db *DB, n int) {
	for {
		db.pipe.mu.Lock()
		q := len(db.pipe.queue)
		db.pipe.mu.Unlock()
		if q >= n {
			return
		}
		runtime.Gosched()
	}
}

// TestReview49UpdateReadKeyVanishesBeforeValidation: Update removes its
// snapshot's pin when fn returns, before the commit leader validates the
// read set. A compaction in between (here while the commit waits for the
// leader of the group before it) may then remove whole a key the
// transaction read live and another writer deleted after the snapshot
// (KeepVersions 1: a deleted key whose older versions are dropped goes,
// tombstone and all). validate finds no chain for it and lets the
// transaction commit, although a key it read changed after its
// snapshot. With the pin kept until the commit is decided, the
// compaction keeps what the snapshot reads, the tombstone with it, and
// the conflict shows.
func TestReview49UpdateReadKeyVanishesBeforeValidation(t *testing.T) {
	for _, how := range []string{"get", "keys"} {
		t.Run(how, func(t *testing.T) {
			db := openT(t, &Options{Retention: Retention{KeepVersions: 1}, CompactAt: -1})
			mustPut(t, db, "r", "k", Int(1))
			var release func()
			res := make(chan error, 1)
			go func() {
				_, err := db.Update(func(tx *Txn) error {
					switch how {
					case "get":
						if _, ok, err := tx.Get("r", "k"); err != nil || !ok {
							return fmt.Errorf("get k: %v %v", ok, err)
						}
					case "keys":
						if keys, err := tx.Keys("r", "", 0); err != nil || len(keys) != 1 {
							return fmt.Errorf("keys: %v %v", keys, err)
						}
					}
					// Another writer deletes k after the snapshot.
					if d, err := db.Delete("r", "k"); err != nil || !d {
						return fmt.Errorf("delete k: %v %v", d, err)
					}
					// The tombstone goes to a sealed segment, and the
					// next commit (this one's) waits for a leader.
					if err := db.commit(&commitReq{roll: true}); err != nil {
						return err
					}
					release = blockPipeline(t, db)
					// Had k been deleted by then, this write would not be made.
					return tx.Put("r", "k-was-live", Bool(true))
				})
				res <- err
			}()
			waitQueued(db, 1) // the Update's commit waits, its fn returned
			st, err := db.Compact(t.Context())
			require.NoError(t, err)
			h, err := db.History("r", "k", 0, 0)
			require.NoError(t, err)
			t.Logf("compaction dropped %d versions; k's history now %d versions", st.VersionsDropped, len(h))
			release()
			err = <-res
			require.ErrorIs(t, err, ErrConflict, "k, read live at the snapshot, was deleted after it")
			absent(t, db, "r", "k-was-live")
		})
	}
}
