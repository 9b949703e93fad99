package kv_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/strata-kv/strata/kv"
	"github.com/stretchr/testify/require"
)

func remapVal(i int) string {
	return fmt.Sprintf("%08d", i) + strings.Repeat(string(rune('a'+i%26)), 1500+i%700)
}

// Readers read values (views of the active segment's mapping) while the
// writer grows the mapping 4 -> 8 -> ... MiB, each growth dropping the old
// mapping's pages; then the same after a reopen.
func TestRemapReaders(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []kv.Durability{kv.Buffered, kv.Strict} {
		db, err := kv.Open(dir, &kv.Options{Durability: d, SegmentSize: 256 << 20})
		require.NoError(t, err)
		base := int(db.LastVersion())
		n := 20000
		if d == kv.Strict {
			n = 3000
		}
		var done atomic.Int64
		done.Store(int64(base))
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var bad atomic.Value
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), 9))
				var held []kv.Value
				for {
					select {
					case <-stop:
						// values read long ago must still be right
						for _, v := range held {
							s, _ := v.AsString()
							var i int
							fmt.Sscanf(s[:8], "%d", &i)
							if s != remapVal(i) {
								bad.Store(fmt.Sprintf("held value %d changed", i))
							}
						}
						return
					default:
					}
					m := int(done.Load())
					if m == 0 {
						continue
					}
					i := r.IntN(m)
					v, ok, err := db.Get("r", fmt.Sprintf("k%07d", i))
					if err != nil || !ok {
						bad.Store(fmt.Sprintf("k%07d: ok %v err %v", i, ok, err))
						return
					}
					if s, _ := v.Value.AsString(); s != remapVal(i) {
						bad.Store(fmt.Sprintf("k%07d: wrong value", i))
						return
					}
					if r.IntN(50) == 0 {
						held = append(held, v.Value)
					}
				}
			}()
		}
		for i := base; i < base+n; i++ {
			_, err := db.Put("r", fmt.Sprintf("k%07d", i), kv.String(remapVal(i)))
			require.NoError(t, err)
			done.Store(int64(i + 1))
		}
		close(stop)
		wg.Wait()
		require.Nil(t, bad.Load())
		require.NoError(t, db.Close())
		db, err = kv.Open(dir, nil)
		require.NoError(t, err)
		for i := 0; i < base+n; i++ {
			v, ok, err := db.Get("r", fmt.Sprintf("k%07d", i))
			require.NoError(t, err)
			require.True(t, ok, i)
			s, _ := v.Value.AsString()
			require.Equal(t, remapVal(i), s)
		}
		require.NoError(t, db.Close())
	}
}
