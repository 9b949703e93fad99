package kv_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
)

// TestModelRandomOperations drives random operations, reopens and crashes
// against kvtest's model, which checks every answer and, after each
// reopen and crash and now and then, the whole state and history at
// random versions.
func TestModelRandomOperations(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, seed, 400, 0) })
	}
}

// TestModelWithRetention is the model test with Retention{KeepVersions:
// 1..3} and explicit Compact calls among the operations (background
// compaction off, so the model knows when versions go): every read must
// answer from the versions retention keeps, or say ErrHistoryTrimmed.
func TestModelWithRetention(t *testing.T) {
	for seed := uint64(1); seed <= 9; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, seed, 400, 1+int(seed%3)) })
	}
}

// TestModelSoak runs the model test with fresh seeds for as long as
// STRATA_SOAK says (a Go duration, e.g. STRATA_SOAK=30m); it is skipped
// otherwise. A quarter of the seeds keep every version, the others keep
// 1 to 3 under compaction. A failure names its seed, which
// runModel(t, seed, 2000, int(seed%4)) replays.
func TestModelSoak(t *testing.T) {
	d := os.Getenv("STRATA_SOAK")
	if d == "" {
		t.Skip("set STRATA_SOAK=<duration> to soak")
	}
	dur, err := time.ParseDuration(d)
	require.NoError(t, err, "STRATA_SOAK")
	deadline := time.Now().Add(dur)
	seed := uint64(time.Now().UnixNano())
	n := 0
	for ; time.Now().Before(deadline); seed++ {
		if !t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, seed, 2000, int(seed%4)) }) {
			t.Fatalf("seed %d failed", seed)
		}
		n++
	}
	t.Logf("%d seeds of 2000 steps passed", n)
}

// runModel runs steps random operations (Strict, small segments); with
// keep > 0, under Retention{KeepVersions: keep} with Compact among them.
func runModel(t *testing.T, seed uint64, steps, keep int) {
	g := kvtest.NewGen(seed, 12, keep > 0)
	opts := kv.Options{Durability: kv.Strict, SegmentSize: int64(300 + g.Rand().IntN(3000))}
	if keep > 0 {
		opts.Retention, opts.CompactAt = kv.Retention{KeepVersions: keep}, -1
	}
	h := kvtest.NewRunner(t, opts, seed)
	for range steps {
		h.Do(g.Next())
	}
	h.Check()
}
