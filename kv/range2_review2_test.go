package kv

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// Reverse and forward paging while other goroutines insert and delete
// keys all around: every stable key exactly once, in order.
func TestReview2RangeConcurrentWriters(t *testing.T) {
	db := openT(t, nil)
	for i := range 300 {
		mustPut(t, db, "a", fmt.Sprintf("s%03d", i), Int(int64(i)))
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load() && i < 3000; i++ {
				k := fmt.Sprintf("s%03d-%d-%d", (i*37)%300, w, i)
				if _, err := db.Put("a", k, Int(0)); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					if _, err := db.Delete("a", fmt.Sprintf("s%03d-%d-%d", ((i-2)*37)%300, w, i-2)); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	for round := range 20 {
		for _, rev := range []bool{false, true} {
			o := RangeOptions{Reverse: rev, Limit: 1 + round%5, Start: "s010", End: "s290"}
			var got []string
			for {
				p, err := db.Range("a", o)
				require.NoError(t, err)
				for _, e := range p.Entries {
					if len(e.Key) == 4 {
						got = append(got, e.Key)
					}
				}
				if p.Cursor == "" {
					break
				}
				o.Cursor = p.Cursor
			}
			var want []string
			for i := 10; i < 290; i++ {
				want = append(want, fmt.Sprintf("s%03d", i))
			}
			if rev {
				slices.Reverse(want)
			}
			require.Equal(t, want, got, "reverse %v round %d", rev, round)
		}
	}
	stop.Store(true)
	wg.Wait()
}
