package kv

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// Gets (readValue) beside writers that roll small segments and a
// background compaction that removes them: every Get returns a value
// some Put wrote for its key, or an error-free absence never.
func TestReview8GetsUnderRollAndCompaction(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 8 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.3})
	require.NoError(t, err)
	defer db.Close()
	const keys = 20
	pad := strings.Repeat("p", 150)
	for k := range keys {
		mustPut(t, db, "r", fmt.Sprint(k), String(fmt.Sprintf("%d-0-%s", k, pad)))
	}
	n := 4000
	if raceEnabled || testing.Short() {
		n = 1500
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				k := (i*7 + g) % keys
				v, ok, err := db.Get("r", fmt.Sprint(k))
				if err != nil || !ok {
					errs <- fmt.Errorf("get %d: ok %v err %v", k, ok, err)
					return
				}
				s, _ := v.Value.AsString()
				if !strings.HasPrefix(s, fmt.Sprintf("%d-", k)) || !strings.HasSuffix(s, pad) {
					errs <- fmt.Errorf("get %d: %q", k, s)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if _, err := db.Compact(context.Background()); err != nil {
				errs <- fmt.Errorf("compact: %v", err)
				return
			}
		}
	}()
	for i := 1; i <= n; i++ {
		k := i % keys
		if i%3 == 0 {
			_, err := db.Incr("r", "ctr", 1)
			require.NoError(t, err)
		}
		mustPut(t, db, "r", fmt.Sprint(k), String(fmt.Sprintf("%d-%d-%s", k, i, pad)))
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.Equal(t, Int(int64(n/3)), mustGet(t, db, "r", "ctr").Value)
	t.Logf("segments in use %d, active segment id %d", db.Stats().Segments, db.segs.Load().active.ID())
}
