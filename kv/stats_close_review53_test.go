package kv

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// Stats "works on a closed DB too" and its Keys count the API's live
// keys, never Strata's own (run events, metadata). A Stats that runs
// while Close runs must report the same Keys as before and after.
func TestReview53StatsDuringCloseCountsInternalKeys(t *testing.T) {
	const rounds = 40
	bad := 0
	var example Stats
	for round := 0; round < rounds; round++ {
		db := openT(t, &Options{Durability: InMemory, SegmentSize: 4096, CompactAt: -1})
		for i := 0; i < 600; i++ { // many sealed segments: Stats sums them before it enters
			mustPut(t, db, DefaultRun, fmt.Sprintf("k%04d", i), String("a value of some forty bytes, padded....."))
		}
		mustPut(t, db, "gone", "x", Int(1))
		_, err := db.DropRun("gone") // a run event: an internal key
		require.NoError(t, err)
		_, err = db.Update(func(tx *Txn) error { return tx.PutMeta("m", Int(1)) }) // a metadata key
		require.NoError(t, err)
		want := db.Stats().Keys
		require.EqualValues(t, 600, want)

		var stop atomic.Bool
		var wg sync.WaitGroup
		var mu sync.Mutex
		var got []Stats
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					st := db.Stats()
					if st.Keys != want {
						mu.Lock()
						got = append(got, st)
						mu.Unlock()
					}
				}
			}()
		}
		for i := 0; i < 50; i++ {
			db.Stats() // let the readers get going
		}
		require.NoError(t, db.Close())
		stop.Store(true)
		wg.Wait()
		require.Equal(t, want, db.Stats().Keys, "after Close")
		if len(got) > 0 {
			bad++
			example = got[0]
		}
	}
	require.Zero(t, bad, "%d of %d rounds: a Stats beside Close reported Keys %d (Versions %d), want %d", bad, rounds, example.Keys, example.Versions, 600)
}
