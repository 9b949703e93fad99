package kv

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Review 10: Stats.DeadBytes (deadBySegment) now reads the length of
// every droppable version's value from its segment. Stats runs on any
// goroutine, and Stats' policy (retention(): Pin is the oldest snapshot
// pinned, MaxUint64 when none is) lets versions not yet visible be
// droppable: within one commit group the index already holds the
// versions of every request appended (runGroup adds them before
// finishGroup flushes), so a key written twice in a group has a
// droppable version whose field lies in the active segment's buffer.
// deadBySegment -> readStored -> segTable.read -> Writer.Value then
// reads Writer.Size() and Writer.buf, which only the appending goroutine
// may touch: a data race with the leader's AppendCommit and Flush.
//
// Run with -race: go test -race -run TestReview10StatsRacesWithTheCommitBuffer ./kv/
func TestReview10StatsRacesWithTheCommitBuffer(t *testing.T) {
	if !raceEnabled {
		t.Skip("a data race: run with -race")
	}
	db := openT(t, &Options{Durability: Strict, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// One key for all writers: groups hold several of its
				// versions, the older ones droppable and still buffered.
				if _, err := db.Put("r", "k", String(fmt.Sprintf("%d-%d-%0100d", g, i, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		db.Stats()
	}
	close(stop)
	wg.Wait()
}
