package kv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type r57ch struct {
	v   Version
	key string
	val int64
	del bool
}

// TestReview57FeedUnderBackgroundCompaction: one writer (Put, Delete,
// MPut, DropRun, ForkRun over two runs) while a consumer follows run
// "r1"'s change feed and compaction (background, small segments, and
// explicit) drops versions under KeepVersions. Every page Changes
// returns must be exactly the model's next changes; ErrHistoryTrimmed
// makes the consumer skip to the latest version and go on from there.
func TestReview57FeedUnderBackgroundCompaction(t *testing.T) {
	n := 3000
	if raceEnabled {
		n = 800
	}
	db, err := Open(t.TempDir(), &Options{SegmentSize: 8 << 10, CompactAt: 0.1,
		Retention: Retention{KeepVersions: 2}})
	require.NoError(t, err)
	defer db.Close()

	type state map[RunID]map[string]int64
	states := []state{{"r1": {}, "r2": {}}}
	changes := map[Version][]r57ch{} // r1's, by version
	clone := func(s state) state {
		o := state{}
		for r, m := range s {
			o[r] = map[string]int64{}
			for k, v := range m {
				o[r][k] = v
			}
		}
		return o
	}
	keys := []string{"a", "b", "c", "d", "e", "f"}
	rng := rand.New(rand.NewPCG(57, 1))

	var mu sync.Mutex
	done := make(chan struct{})
	type page struct {
		after Version
		cs    []Change
	}
	var pages []page
	var trims int
	var consumerErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // consumer
		defer wg.Done()
		after := Version(0)
		for {
			cs, err := db.Changes("r1", "", after, 7)
			switch {
			case errors.Is(err, ErrHistoryTrimmed):
				mu.Lock()
				trims++
				mu.Unlock()
				after = db.LastVersion()
				continue
			case err != nil:
				consumerErr = err
				return
			}
			if len(cs) > 0 {
				pages = append(pages, page{after, cs})
				after = cs[len(cs)-1].Version
				if rng.IntN(4) == 0 { // go back: reads near the trim horizon
					after = Version(max(0, int(after)-rng.IntN(300)))
				}
				continue
			}
			select {
			case <-done:
				if after >= db.LastVersion() {
					return
				}
			default:
				time.Sleep(time.Duration(rng.IntN(2)) * time.Millisecond) // pacing only
			}
		}
	}()
	go func() { // explicit compactions
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			db.Compact(context.Background())
			time.Sleep(2 * time.Millisecond) // pacing only
		}
	}()

	wrng := rand.New(rand.NewPCG(57, 2))
	for i := 0; i < n; i++ {
		cur := clone(states[len(states)-1])
		var v Version
		var err error
		var chs []r57ch
		run := RunID([]string{"r1", "r2"}[wrng.IntN(2)])
		k := keys[wrng.IntN(len(keys))]
		switch x := wrng.IntN(100); {
		case x < 55:
			v, err = db.Put(run, k, Int(int64(i)))
			cur[run][k] = int64(i)
			if run == "r1" {
				chs = append(chs, r57ch{v, k, int64(i), false})
			}
		case x < 75:
			var ok bool
			ok, err = db.Delete(run, k)
			if ok {
				v = db.LastVersion() // single writer
				delete(cur[run], k)
				if run == "r1" {
					chs = append(chs, r57ch{v, k, 0, true})
				}
			}
		case x < 90:
			k2 := keys[wrng.IntN(len(keys))]
			if k2 == k {
				k2 = k + "x"
			}
			v, err = db.MPut(run, []KeyValue{{k, Int(int64(i))}, {k2, Int(int64(-i))}})
			cur[run][k], cur[run][k2] = int64(i), int64(-i)
			if run == "r1" {
				chs = append(chs, r57ch{v, k, int64(i), false}, r57ch{v, k2, int64(-i), false})
			}
		case x < 95:
			v, err = db.DropRun("r1")
			for kk := range cur["r1"] {
				chs = append(chs, r57ch{v, kk, 0, true})
			}
			cur["r1"] = map[string]int64{}
		default:
			if len(cur["r1"]) != 0 {
				continue
			}
			at := Version(max(1, len(states)-1-wrng.IntN(5)))
			v, err = db.ForkRun("r2", "r1", at)
			if errors.Is(err, ErrHistoryTrimmed) {
				continue
			}
			src := states[min(int(at), len(states)-1)]["r2"]
			for kk, vv := range src {
				chs = append(chs, r57ch{v, kk, vv, false})
				cur["r1"][kk] = vv
			}
		}
		require.NoError(t, err)
		if v == 0 {
			continue
		}
		require.Equal(t, len(states), int(v))
		states = append(states, cur)
		sort.Slice(chs, func(i, j int) bool { return chs[i].key < chs[j].key })
		changes[v] = chs
	}
	close(done)
	wg.Wait()
	require.NoError(t, consumerErr)
	t.Logf("%d versions, %d pages, %d ErrHistoryTrimmed", len(states)-1, len(pages), trims)

	var all []r57ch
	for v := Version(1); int(v) < len(states); v++ {
		all = append(all, changes[v]...)
	}
	for _, p := range pages {
		i := sort.Search(len(all), func(i int) bool { return all[i].v > p.after })
		for j, c := range p.cs {
			require.Less(t, i+j, len(all), "page after %d: change %d beyond the model", p.after, j)
			m := all[i+j]
			got := r57ch{c.Version, c.Key, 0, c.Deleted}
			if !c.Deleted {
				got.val, _ = c.Value.AsInt()
			}
			require.Equal(t, m, got, "page after %d, change %d: %s", p.after, j, fmt.Sprint(p.cs))
		}
	}
}
