package kv

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// A Compact that waits for the background goroutine's token while a roll
// fails (the database then has no active segment and accepts no more
// writes) used to return at once when Retention keeps everything. Now it
// goes on to merge small segments, and mergeSmall's policy() fsyncs the
// active segment, which is nil: a nil-pointer panic that takes the
// process down, instead of the write failure as an error. Fixed: Compact
// checks for a failure once it holds the token, and policy() says the
// failure where the active segment is gone.
func TestReview39CompactAfterFailedRollPanics(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 64 << 10, CompactAt: -1} // Buffered
	memOpenCloses(t, mem, opts, mergeMin+1)
	efs := vfs.NewErrorFS(mem, -1, false)
	db, err := openMem(t, efs, opts)
	require.NoError(t, err)
	defer db.Close()
	holdBackground(db) // a background job in progress: Compact waits for it

	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			r.panic = recover()
			done <- r
		}()
		_, r.err = db.Compact(context.Background())
	}()
	for db.compact.hurry.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// The next segment cannot be created: the roll fails.
	mustPut(t, db, "r", "x", Int(1))
	efs.FailWhen(func(op vfs.Op) bool { return op.Kind == vfs.OpCreate && strings.Contains(op.Path, ".seg") })
	require.Error(t, db.commit(&commitReq{roll: true}))
	require.Error(t, db.failed())
	efs.FailWhen(nil)
	<-db.compact.sem // the background job ends

	r := <-done
	require.Nil(t, r.panic, "Compact panicked")
	t.Logf("Compact: %v", r.err)
}
