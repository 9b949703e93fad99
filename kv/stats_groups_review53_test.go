package kv

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every commit group holds at least one commit, so no Stats can report
// more Groups than Commits ("Commits / Groups is how many commits share
// a write"), and neither ever goes down. (Stats loads Commits, then
// Groups: a group that commits in between counts in Groups alone.)
func TestReview53StatsNeverMoreGroupsThanCommits(t *testing.T) {
	db := openT(t, &Options{Durability: InMemory})
	var done, found atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer done.Store(true)
		for i := 0; i < 1000000 && !found.Load(); i++ { // serial puts: a group each
			if _, err := db.Put(DefaultRun, fmt.Sprintf("k%d", i%100), Int(int64(i))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var bad, calls int
	var example, last Stats
	for !done.Load() {
		st := db.Stats()
		calls++
		if st.Groups > st.Commits && bad == 0 {
			example = st
		}
		if st.Groups > st.Commits {
			bad++
			found.Store(true)
		}
		require.GreaterOrEqual(t, st.Commits, last.Commits)
		require.GreaterOrEqual(t, st.Groups, last.Groups)
		last = st
	}
	wg.Wait()
	require.Zero(t, bad, "%d of %d Stats beside serial commits had Groups > Commits, e.g. Commits %d Groups %d", bad, calls, example.Commits, example.Groups)
}
