package kv

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// Writers, readers and segment rolls all at once: every read must be
// consistent with some committed state (run under -race in CI).
func TestConcurrentReadersWritersAndRolls(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 4096})
	const writers, readers, perWriter = 4, 4, 300
	var wg sync.WaitGroup
	var stop atomic.Bool
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				// Each key's value only grows, so a reader can check
				// monotonicity across its snapshots.
				if _, err := db.Put("r", fmt.Sprintf("w%d-k%d", w, i%10), Int(int64(i))); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					if _, err := db.MPut("r", []KeyValue{{fmt.Sprintf("w%d-b", w), Int(int64(i))}, {fmt.Sprintf("w%d-c", w), Int(int64(i))}}); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}(w)
	}
	errs := make(chan error, readers)
	var rwg sync.WaitGroup
	for r := 0; r < readers; r++ {
		rwg.Add(1)
		go func(r int) {
			defer rwg.Done()
			last := map[string]int64{}
			for !stop.Load() {
				err := db.View(func(tx *Txn) error {
					p, err := tx.Scan("r", fmt.Sprintf("w%d-", r%writers), 1000, "")
					if err != nil {
						return err
					}
					vals := map[string]int64{}
					for _, e := range p.Entries {
						n, _ := e.Value.AsInt()
						vals[e.Key] = n
						if n < last[e.Key] {
							return fmt.Errorf("key %s went back from %d to %d", e.Key, last[e.Key], n)
						}
						last[e.Key] = n
					}
					// A batch is seen whole: b and c are equal in one snapshot.
					if vals[fmt.Sprintf("w%d-b", r%writers)] != vals[fmt.Sprintf("w%d-c", r%writers)] {
						return fmt.Errorf("batch seen half applied: %v", vals)
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				if _, err := db.History("r", fmt.Sprintf("w%d-k1", r%writers), 5, 0); err != nil {
					errs <- err
					return
				}
				_ = db.Stats()
			}
		}(r)
	}
	wg.Wait()
	stop.Store(true)
	rwg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Greater(t, db.Stats().Segments, 3, "the test must roll segments")
	for w := 0; w < writers; w++ {
		got := mustGet(t, db, "r", fmt.Sprintf("w%d-k9", w))
		require.EqualValues(t, perWriter-1, must2(got.Value.AsInt()))
	}
}
