package kv

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Checkpoints of an empty DB, of one just reopened, and of one just
// rolled each open at exactly their version; writing to and compacting
// the checkpoint leaves the source whole.
func TestReview2CheckpointEdges(t *testing.T) {
	src := t.TempDir()
	db, err := Open(src, &Options{SegmentSize: 2 << 10, CompactAt: -1})
	require.NoError(t, err)
	cp := func(name string) (string, Version) {
		dir := filepath.Join(t.TempDir(), name)
		v, err := db.Checkpoint(dir)
		require.NoError(t, err, name)
		require.Equal(t, db.LastVersion(), v, name)
		c, err := Open(dir, nil)
		require.NoError(t, err, name)
		require.Equal(t, v, c.LastVersion(), name)
		// Write and compact in the checkpoint.
		for i := range 50 {
			mustPut(t, c, "x", fmt.Sprintf("k%d", i%5), String(fmt.Sprintf("%0200d", i)))
		}
		_, err = c.Compact(context.Background())
		require.NoError(t, err)
		require.NoError(t, c.Close())
		return dir, v
	}
	cp("empty")
	for i := range 40 {
		mustPut(t, db, "r", fmt.Sprintf("k%02d", i), String(fmt.Sprintf("%0100d", i)))
	}
	cp("rolled")
	require.NoError(t, db.Close())
	db, err = Open(src, &Options{SegmentSize: 2 << 10, CompactAt: -1})
	require.NoError(t, err)
	cp("reopened")
	mustPut(t, db, "r", "after", Int(1))
	cp("one more")
	require.NoError(t, db.Close())
	db, err = Open(src, &Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	for i := range 40 {
		v := mustGet(t, db, "r", fmt.Sprintf("k%02d", i))
		s, _ := v.Value.AsString()
		require.Equal(t, fmt.Sprintf("%0100d", i), s)
	}
	keys, err := db.Keys("x", "", 0)
	require.NoError(t, err)
	require.Empty(t, keys)
}

// WaitFor on a closed DB returns ErrClosed, like every call after Close.
func TestReview2WaitForAfterClose(t *testing.T) {
	db, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	mustPut(t, db, "r", "k", Int(1))
	require.NoError(t, db.Close())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	require.ErrorIs(t, db.WaitFor(ctx, 1), ErrClosed, "WaitFor after Close")
}
