package kv

import (
	"fmt"
	"sync"
	"testing"
)

// Stats (DeadBytes' sampled walk) beside writers and rolls, for -race.
func TestReview12StatsBesideWriters(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 1 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: 0.3})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				mustPut(t, db, "r", fmt.Sprintf("k%d-%d", w, i%500), Bytes(make([]byte, 100+i%900)))
			}
		}()
	}
	for range 200 {
		if st := db.Stats(); st.DeadBytes < 0 {
			t.Errorf("DeadBytes %d", st.DeadBytes)
		}
	}
	close(stop)
	wg.Wait()
}
