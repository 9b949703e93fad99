package kv

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// mergeChunks (kv/compact.go): "A chunk of at most mergeFinishMax bytes
// is finished whatever Close does; a larger one (two segments of more
// than 2 MiB) stops when Close comes"; the README: Close "then waits up
// to 50-80 ms here". But compaction.Run looks at its context only every
// 256th frame, and pace stops sleeping once compact.stop is closed: a
// larger chunk of fewer than 256 commits (two segments of 12 MiB, 1 MiB
// values: small is anything under 16 MiB) under way when Close comes is
// not stopped but finished, unpaced, and switched in, and Close waits for
// all 24 MiB (up to 2 x SegmentSize/4: 512 MiB with the largest
// SegmentSize), not for one chunk of 4 MiB.
// Fixed: the look makes no chunk over mergeFinishMax (the two 12 MiB
// segments are passed over), so Close never waits for one.
func TestReview42LargeChunkNotStoppedByClose(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem, -1, false)
	val := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(42, 4))
	for i := range 16 {
		db, err := openMem(t, efs, Options{CompactAt: -1})
		require.NoError(t, err)
		if i < 2 {
			for j := range 12 {
				for k := range val {
					val[k] = byte(r.Uint32())
				}
				mustPut(t, db, "r", fmt.Sprintf("big%d-%02d", i, j), Bytes(val))
			}
		} else {
			mustPut(t, db, "r", fmt.Sprintf("k%02d", i), Int(int64(i)))
		}
		require.NoError(t, db.Close())
	}
	started := make(chan struct{})
	var once sync.Once
	db, err := openMem(t, efs, Options{}, func(db *DB) {
		efs.SetAfter(func(op vfs.Op) {
			if op.Kind != vfs.OpCreate || !strings.Contains(op.Path, ".seg") {
				return
			}
			once.Do(func() { // the look's first chunk's output
				close(started)
				<-db.compact.stop                 // Close has come
				time.Sleep(50 * time.Millisecond) // stopContext has cancelled the job
			})
		})
	})
	require.NoError(t, err)
	before := append([]uint32(nil), db.manifestOrder()...)

	<-started
	t0 := time.Now()
	require.NoError(t, db.Close())
	efs.SetAfter(nil)
	after := db.manifestOrder()
	t.Logf("Close took %v; segments %v -> %v", time.Since(t0), before, after)
	require.Equal(t, before[:2], after[:2], "a chunk over mergeFinishMax stops when Close comes")
}
