package kv

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// Several goroutines read Changes of the active segment while writers
// append to it: none may fail. (A reader holding an older, shorter copy
// of the active segment's frames must not resume at a mark another
// reader set further on.)
func TestReview2ChangesConcurrentReaders(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 256 << 20})
	var stop atomic.Bool
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				if _, err := db.Put("r", fmt.Sprintf("w%d-%d", w, i%500), Int(int64(i))); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for g := range 4 {
		readers.Go(func() {
			for i := 0; i < 1500; i++ {
				after := Version(0)
				if lv := db.LastVersion(); g%2 == 0 && lv > 10 {
					after = lv - 10
				}
				if _, err := db.Changes("r", "", after, 5); err != nil {
					failed.Store(fmt.Errorf("reader %d call %d, after %d: %w", g, i, after, err))
					return
				}
			}
		})
	}
	readers.Wait() // a fixed number of calls each, while the writers write
	stop.Store(true)
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatalf("%v (last version %d)", err, db.LastVersion())
	}
}
