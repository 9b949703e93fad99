package kv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// Compact: "A cancelled ctx stops it promptly with an error wrapping
// ctx.Err()". mergeSmall goes from run to run without looking at ctx,
// and compaction.Run looks at it only every 256 frames: a Compact
// cancelled while it writes its first merge's output (here: the
// interrupt strata compact turns into a cancel) goes on to merge every
// other run, and returns nil. Two runs of 16 one-commit segments, split
// by a big segment: both merged after the cancel, no error.
// Fixed: mergeSmall, and Compact's loop over dead runs, check ctx before
// each job.
func TestReview40CompactIgnoresCancelBetweenMerges(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 1 << 20, CompactAt: -1}
	openWrite := func(key string, v Value) {
		db, err := openMem(t, mem, opts)
		require.NoError(t, err)
		mustPut(t, db, "r", key, v)
		require.NoError(t, db.Close())
	}
	for i := range mergeMin {
		openWrite(fmt.Sprintf("a%02d", i), Int(int64(i)))
	}
	big := make([]byte, 300<<10) // incompressible: over a quarter of SegmentSize
	r := rand.New(rand.NewPCG(4, 0))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	openWrite("big", Bytes(big))
	for i := range mergeMin {
		openWrite(fmt.Sprintf("b%02d", i), Int(int64(i)))
	}

	efs := vfs.NewErrorFS(mem, -1, false)
	db, err := openMem(t, efs, opts)
	require.NoError(t, err)
	defer db.Close()
	require.Len(t, db.smallRuns(), 2)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	efs.SetAfter(func(op vfs.Op) {
		if op.Kind == vfs.OpCreate && strings.Contains(op.Path, ".seg") {
			once.Do(cancel) // interrupted while the first merge writes
		}
	})
	st, err := db.Compact(ctx)
	efs.SetAfter(nil)
	t.Logf("Compact after its ctx was cancelled: %+v, %v", st, err)
	require.ErrorIs(t, err, context.Canceled, "a cancelled Compact says so")
}
