package index

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// gcUntil runs collections until cond holds (a table's cleanup runs on
// its own goroutine after the collection that finds it unreachable), at
// most 100 times, and reports whether it came to hold.
func gcUntil(cond func() bool) bool {
	for range 100 {
		if cond() {
			return true
		}
		runtime.GC()
		runtime.Gosched()
	}
	return cond()
}

// A table the writer replaced stays mapped while a reader holds it, and
// is unmapped once nothing does; so is the last one after Close. Growing
// to 300k keys maps a table at each step from 64 KiB on.
func TestMappedTablesUnmappedWhenUnreachable(t *testing.T) {
	if !offHeap {
		t.Skip("tables live on the heap here")
	}
	ix := New()
	add := func(from, to int) {
		for i := from; i < to; i++ {
			require.NoError(t, ix.Add("r", fmt.Sprintf("key-%07d", i), Record{Version: uint64(i + 1), Segment: 1, Field: 100}))
		}
	}
	add(0, 60_000)
	passed := ix.hash.Load().unmapped // a table nobody holds once replaced
	add(60_000, 100_000)
	held := ix.hash.Load() // as a reader between its Load and its probe
	heldGone := held.unmapped
	add(100_000, 300_000)
	last := ix.hash.Load().unmapped
	require.NotSame(t, heldGone, last, "the table grew")
	require.NotSame(t, passed, heldGone, "the table grew")
	require.True(t, gcUntil(passed.Load), "a replaced table nobody holds is unmapped")
	require.False(t, heldGone.Load(), "a table a reader holds is unmapped")
	rn, _ := ix.runNumber("r")
	for _, i := range []int{0, 54_321, 99_999} {
		key := fmt.Sprintf("key-%07d", i)
		ref, _ := ix.probe(held, hashOf(rn, key), rn, key)
		require.NotZero(t, ref, "%s in the held table", key)
	}
	runtime.KeepAlive(held)
	held = nil
	require.True(t, gcUntil(heldGone.Load), "the held table, let go, is unmapped")
	require.False(t, last.Load(), "the index's table is unmapped")
	_, ok := ix.Find("r", "key-0300000")
	require.False(t, ok)
	c, ok := ix.Find("r", "key-0299999")
	require.True(t, ok)
	require.Equal(t, "key-0299999", c.Key())
	ix.Close()
	require.True(t, gcUntil(last.Load), "the index's table is unmapped after Close")
}

// Readers probing while the writer grows the table, with collections
// running all the while (so that replaced tables are unmapped as soon as
// they may be): every key added before a Find is found, and no read
// touches an unmapped table (it would fault and end the test binary).
func TestProbesWhileTablesGrowAndGo(t *testing.T) {
	n := 400_000
	if raceEnabled {
		n = 40_000
	}
	ix := New()
	defer ix.Close()
	var added atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	var failed atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			runtime.GC()
		}
	}()
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for !stop.Load() {
				k := added.Load()
				if k == 0 {
					continue
				}
				key := fmt.Sprintf("key-%07d", r.Int64N(k))
				if c, ok := ix.Find("r", key); !ok || c.KeyView() != key {
					failed.CompareAndSwap(nil, fmt.Sprintf("%s added, not found (%v)", key, ok))
					return
				}
				if _, ok := ix.Find("r", fmt.Sprintf("key-%07d", k+1_000_000)); ok {
					failed.CompareAndSwap(nil, "a key never added found")
					return
				}
			}
		}()
	}
	for i := range n {
		require.NoError(t, ix.Add("r", fmt.Sprintf("key-%07d", i), Record{Version: uint64(i + 1), Segment: 1, Field: 100}))
		added.Store(int64(i + 1))
	}
	stop.Store(true)
	wg.Wait()
	require.Nil(t, failed.Load())
}
