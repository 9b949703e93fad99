package kv

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Concurrent MPuts of batches of every size, with and without repeated
// keys, share the pooled requests and hash scratch: each key keeps the
// last value its batch gave it, written once per batch.
func TestMPutConcurrentRepeatsReview6(t *testing.T) {
	for name, opts := range modes {
		t.Run(name, func(t *testing.T) {
			o := opts
			db := openT(t, &o)
			const writers, rounds = 6, 30
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				wg.Go(func() {
					for r := range rounds {
						n := 1 + (w*37+r*11)%700
						if r%5 == 0 {
							n = 5000 // beyond the pooled request and entries
						}
						var batch []KeyValue
						for i := range n {
							k := fmt.Sprintf("w%d/k%d", w, i)
							if r%2 == 1 && i%5 == 4 {
								k = fmt.Sprintf("w%d/k%d", w, i-4)
							}
							v := String(strings.Repeat(fmt.Sprintf("%d.%d.%d|", w, r, i), 1+i%40))
							batch = append(batch, KeyValue{k, v})
						}
						ver, err := db.MPut(RunID(fmt.Sprint("r", w)), batch)
						if err != nil {
							errs <- err
							return
						}
						want := map[string]Value{}
						for _, e := range batch {
							want[e.Key] = e.Value
						}
						for k, v := range want {
							got, ok, err := db.Get(RunID(fmt.Sprint("r", w)), k)
							if err != nil || !ok {
								errs <- fmt.Errorf("get %s: %v %v", k, ok, err)
								return
							}
							if !got.Value.Equal(v) || got.Version != ver {
								errs <- fmt.Errorf("round %d key %s: got %v@%d want %v@%d", r, k, got.Value, got.Version, v, ver)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			for w := range writers {
				for i := range 700 {
					k := fmt.Sprintf("w%d/k%d", w, i)
					h, err := db.History(RunID(fmt.Sprint("r", w)), k, 0, 0)
					require.NoError(t, err)
					seen := map[Version]bool{}
					for _, e := range h {
						require.False(t, seen[e.Version], "key %s written twice in version %d", k, e.Version)
						seen[e.Version] = true
					}
				}
			}
			runtime.KeepAlive(db)
		})
	}
}
