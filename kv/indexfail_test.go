package kv

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// When the index cannot take an entry (the system refuses it memory), the
// commit fails, and so do the commits of its group: none of their frames
// may reach the file, or a write that returned an error would be there
// after a restart. Commits acknowledged before stay.
func TestIndexFailureWritesNothingOfTheGroup(t *testing.T) {
	for _, mode := range []Durability{Buffered, Strict} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			db, err := Open(dir, &Options{Durability: mode})
			require.NoError(t, err)
			for i := 0; i < 10; i++ {
				_, err := db.Put("r", fmt.Sprintf("ok%d", i), Int(int64(i)))
				require.NoError(t, err)
			}
			var mu sync.Mutex
			adds := 0
			db.failAdd = func() error {
				mu.Lock()
				defer mu.Unlock()
				if adds++; adds == 7 {
					return errors.New("no memory")
				}
				return nil
			}
			// Eight writers, so the failing entry shares its group with
			// others (a second entry of an MPut, or another Put).
			var wg sync.WaitGroup
			var failedKeys sync.Map
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k1, k2 := fmt.Sprintf("g%d-a", g), fmt.Sprintf("g%d-b", g)
					if _, err := db.MPut("r", []KeyValue{{k1, Int(1)}, {k2, Int(2)}}); err != nil {
						failedKeys.Store(k1, true)
						failedKeys.Store(k2, true)
					}
				}()
			}
			wg.Wait()
			_, err = db.Put("r", "after", Int(1))
			require.ErrorContains(t, err, "no memory", "the database has failed")
			db.Close()

			db2, err := Open(dir, nil)
			require.NoError(t, err)
			defer db2.Close()
			n := 0
			failedKeys.Range(func(k, _ any) bool {
				n++
				_, ok, err := db2.Get("r", k.(string))
				require.NoError(t, err)
				require.False(t, ok, "%s: its MPut returned an error, yet it is there after a restart", k)
				return true
			})
			require.Positive(t, n, "some MPut failed")
			for i := 0; i < 10; i++ {
				_, ok, err := db2.Get("r", fmt.Sprintf("ok%d", i))
				require.NoError(t, err)
				require.True(t, ok, "acknowledged before the failure")
			}
		})
	}
}
