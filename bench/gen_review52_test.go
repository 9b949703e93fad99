package main

import (
	"io"
	"math"
	"testing"
	"time"
)

// TestReview52W1bTimesOnlyTheCommits: W1b's timer ran around c.batch,
// which allocates a 116 KB slab, fills it from ChaCha8 and formats 1000
// keys for every commit: work of the harness, the same for every engine,
// inside every engine's time (measured: 170-330 ns a put, 14-26% of
// Strata's W1b time), which pulled every ratio towards 1. The timer must
// run around each commit alone: with a fake stopwatch that moves 1 ms
// each time it is read, and a clock read before and after each commit,
// W1b's time is 1 ms per batch, never 1 ms for the whole fill.
func TestReview52W1bTimesOnlyTheCommits(t *testing.T) {
	var now time.Time
	batchClock = func() time.Time { now = now.Add(time.Millisecond); return now }
	defer func() { batchClock = time.Now }()
	cfg := newConfig(0.01, time.Second, time.Second, 1)
	c := &child{name: "strata", dir: t.TempDir(), cfg: cfg, log: io.Discard, res: &ChildResult{
		Metrics: map[string]float64{}, Ops: map[string]int64{}, Seconds: map[string]float64{}}}
	if err := c.batchFill(); err != nil {
		t.Fatal(err)
	}
	batches := (cfg.Keys + BatchLen - 1) / BatchLen
	if got, want := c.res.Seconds[MetricBatchFill], float64(batches)*0.001; math.Abs(got-want) > 1e-9 {
		t.Errorf("W1b timed %.3f s on a stopwatch that moves 1 ms a read, want %.3f s: one interval per commit (%d), around the commit alone", got, want, batches)
	}
}
