package kv

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
)

// A commit whose time the index cannot hold (a clock gone past 2255) is
// refused before anything is written, and the database does not fail:
// what it held stays readable.
func TestCommitRefusedWhenTheClockIsBeyondTheIndex(t *testing.T) {
	db := openT(t, nil)
	mustPut(t, db, "r", "k", Int(1))
	size := db.segs.Load().active.Size()
	done := make(chan struct{})
	// The pipeline's goroutine owns lastTS: set it through a commit of
	// its own, with nothing to write.
	require.NoError(t, db.commit(&commitReq{decide: func(*commitReq) error {
		db.pipe.lastTS = index.MaxTimestamp + 1
		close(done)
		return nil
	}}))
	<-done
	_, err := db.Put("r", "k", Int(2))
	require.Error(t, err)
	require.Contains(t, err.Error(), "outside what the index holds")
	require.Equal(t, size, db.segs.Load().active.Size(), "nothing was written")
	require.NoError(t, db.failed())
	v, ok, err := db.Get("r", "k")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, Int(1), v.Value)
}
