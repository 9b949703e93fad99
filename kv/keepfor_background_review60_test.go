package kv

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Background compaction (CompactAt) with KeepFor, under a writer: a
// GetAt or ViewAt at any version committed within the window (checked
// after the read returned, so a stalled reader never blames retention)
// answers with the value then, never ErrHistoryTrimmed, while versions
// older than the window are being dropped.
func TestKeepForBackgroundReadsInWindowReview60(t *testing.T) {
	const window = 250 * time.Millisecond
	run := 1500 * time.Millisecond
	if raceEnabled {
		run = 800 * time.Millisecond
	}
	db := openT(t, &Options{SegmentSize: 8 << 10, CompactAt: 0.2, Retention: Retention{KeepFor: window}})
	type rec struct {
		v   Version
		ts  time.Time
		key string
		val string
	}
	var mu sync.Mutex
	var log []rec // every commit, in version order
	stateAt := func(v Version) map[string]rec {
		mu.Lock()
		defer mu.Unlock()
		m := map[string]rec{}
		for _, r := range log {
			if r.v > v {
				break
			}
			m[r.key] = r
		}
		return m
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			k := fmt.Sprintf("k%02d", i%20)
			val := fmt.Sprintf("%s-%d-padding-padding-padding-padding", k, i)
			v, err := db.Put("r", k, String(val))
			if err != nil {
				t.Error(err)
				return
			}
			got, _, err := db.Get("r", k)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			log = append(log, rec{v, got.Timestamp, k, val})
			mu.Unlock()
		}
	})
	deadline := time.Now().Add(run)
	var reads, skipped int
	for time.Now().Before(deadline) && !t.Failed() {
		mu.Lock()
		n := len(log)
		if n == 0 {
			mu.Unlock()
			continue
		}
		// A version committed about window/3 ago.
		target := time.Now().Add(-window / 3)
		i := n - 1
		for i > 0 && log[i].ts.After(target) {
			i--
		}
		r := log[i]
		mu.Unlock()
		want := stateAt(r.v)
		var getErr, viewErr error
		var gotV Versioned
		for k, w := range want {
			gotV, getErr = db.GetAt("r", k, r.v)
			if getErr != nil || gotV.Version != w.v {
				getErr = fmt.Errorf("GetAt(%s, %d) = v%d %v, want v%d", k, r.v, gotV.Version, getErr, w.v)
				break
			}
		}
		viewErr = db.ViewAt(r.v, func(tx *Txn) error {
			for k, w := range want {
				g, ok, err := tx.Get("r", k)
				if err != nil {
					return err
				}
				s, _ := g.Value.AsString()
				if !ok || g.Version != w.v || s != w.val {
					return fmt.Errorf("Get(%s) at %d = v%d %q, want v%d %q", k, r.v, g.Version, s, w.v, w.val)
				}
			}
			return nil
		})
		if time.Since(r.ts) >= window-5*time.Millisecond {
			skipped++ // the read took too long to say anything
			continue
		}
		reads++
		require.NoError(t, getErr, "version %d committed %v ago, window %v", r.v, time.Since(r.ts), window)
		require.NoError(t, viewErr, "version %d committed %v ago, window %v", r.v, time.Since(r.ts), window)
	}
	stop.Store(true)
	wg.Wait()
	st := db.Stats()
	t.Logf("reads checked %d, skipped %d, commits %d, stats %+v", reads, skipped, len(log), st)
	if reads == 0 {
		t.Skipf("no read finished inside the window (%d skipped): a machine this slow checks nothing here", skipped)
	}
	require.Less(t, st.Versions, int64(len(log)), "background compaction dropped versions older than the window")
}
