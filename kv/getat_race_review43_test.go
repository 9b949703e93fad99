package kv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// GetAt racing compaction switches: a read at a version where a key was
// live must answer its value or ErrHistoryTrimmed, never ErrNotFound.
func TestReview43GetAtRacesCompactionSwitch(t *testing.T) {
	for round := range 6 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			db := openT(t, &Options{SegmentSize: 2048, CompactAt: -1, Retention: Retention{KeepVersions: 1}})
			type live struct {
				run  RunID
				key  string
				v    Version
				want int64
			}
			var lives []live
			for i := range 300 {
				k := fmt.Sprintf("k%03d", i)
				v := mustPut(t, db, "r", k, Int(int64(i)))
				lives = append(lives, live{"r", k, v, int64(i)})
				switch i % 3 {
				case 0: // removed whole
					_, err := db.Delete("r", k)
					require.NoError(t, err)
				case 1: // partly
					mustPut(t, db, "r", k, Int(-1))
				}
			}
			if round%2 == 1 {
				_, err := db.DropRun("r")
				require.NoError(t, err)
			}
			var stop atomic.Bool
			var bad atomic.Value
			var wg sync.WaitGroup
			for w := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; !stop.Load(); n++ {
						l := lives[(n*7+w)%len(lives)]
						got, err := db.GetAt(l.run, l.key, l.v)
						switch {
						case err == nil:
							if got.Version != l.v || got.Value.Equal(Int(l.want)) == false {
								bad.Store(fmt.Sprintf("%s@%d = %v@%d", l.key, l.v, got.Value, got.Version))
							}
						case errors.Is(err, ErrHistoryTrimmed):
						default:
							bad.Store(fmt.Sprintf("%s@%d: %v", l.key, l.v, err))
						}
					}
				}()
			}
			_, err := db.Compact(context.Background())
			stop.Store(true)
			wg.Wait()
			require.NoError(t, err)
			if b := bad.Load(); b != nil {
				t.Fatal(b)
			}
		})
	}
}
