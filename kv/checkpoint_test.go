package kv_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// write is one acknowledged write of the checkpoint test's writers.
type write struct {
	v     kv.Version
	key   string
	value int64
}

// Checkpoints taken while two writers write and compaction runs each
// open to exactly their version: LastVersion is the version Checkpoint
// returned, and every key holds its newest value at or below it.
func TestCheckpointUnderWritesAndCompaction(t *testing.T) {
	src := t.TempDir()
	db, err := kv.Open(src, &kv.Options{SegmentSize: 8 << 10, Retention: kv.Retention{KeepVersions: 1}, CompactAt: 0.1})
	require.NoError(t, err)
	defer db.Close()

	var mu sync.Mutex
	var log []write
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := fmt.Sprintf("w%d-k%d", w, i%40)
				v, err := db.Put("r", k, kv.Int(int64(i)))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				log = append(log, write{v, k, int64(i)})
				mu.Unlock()
			}
		})
	}
	var dropped atomic.Int64
	wg.Go(func() {
		for !stop.Load() {
			st, err := db.Compact(t.Context())
			if err != nil {
				t.Error(err)
				return
			}
			dropped.Add(st.VersionsDropped)
		}
	})
	type cp struct {
		dir string
		v   kv.Version
	}
	var cps []cp
	for i := range 12 {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("cp%d", i))
		v, err := db.Checkpoint(dir)
		require.NoError(t, err)
		cps = append(cps, cp{dir, v})
	}
	stop.Store(true)
	wg.Wait()
	require.Greater(t, cps[len(cps)-1].v, cps[0].v, "the writers went on meanwhile")
	require.Positive(t, dropped.Load(), "compaction ran meanwhile")

	for _, c := range cps {
		// log is in acknowledgement order, which is version order per
		// writer, and keys are per writer: the last write of a key at or
		// below c.v is its newest there.
		want := map[string]int64{}
		for _, w := range log {
			if w.v <= c.v {
				want[w.key] = w.value
			}
		}
		cdb, err := kv.Open(c.dir, &kv.Options{ReadOnly: true})
		require.NoError(t, err, "checkpoint at %d", c.v)
		require.Equal(t, c.v, cdb.LastVersion())
		keys, err := cdb.Keys("r", "", 0)
		require.NoError(t, err)
		require.Len(t, keys, len(want), "checkpoint at %d", c.v)
		for k, x := range want {
			got, ok, err := cdb.Get("r", k)
			require.NoError(t, err)
			require.True(t, ok, "%s at %d", k, c.v)
			n, _ := got.Value.AsInt()
			require.Equal(t, x, n, "%s at %d", k, c.v)
		}
		require.NoError(t, cdb.Close())
	}
}

// A checkpoint is an ordinary database: it opens writable, and writes to
// it never show in the source, nor the reverse.
func TestCheckpointIsIndependent(t *testing.T) {
	src := t.TempDir()
	db, err := kv.Open(src, &kv.Options{SegmentSize: 4 << 10})
	require.NoError(t, err)
	defer db.Close()
	for i := range 300 {
		_, err := db.Put("r", fmt.Sprintf("k%d", i%30), kv.Int(int64(i)))
		require.NoError(t, err)
	}
	dir := filepath.Join(t.TempDir(), "cp")
	v, err := db.Checkpoint(dir)
	require.NoError(t, err)
	require.Equal(t, db.LastVersion(), v)

	_, err = db.Checkpoint(dir)
	require.ErrorIs(t, err, fs.ErrExist, "the directory must not exist")

	cdb, err := kv.Open(dir, nil)
	require.NoError(t, err)
	_, err = cdb.Put("r", "only-in-checkpoint", kv.Int(1))
	require.NoError(t, err)
	_, err = db.Put("r", "only-in-source", kv.Int(1))
	require.NoError(t, err)
	_, ok, err := db.Get("r", "only-in-checkpoint")
	require.NoError(t, err)
	require.False(t, ok)
	_, ok, err = cdb.Get("r", "only-in-source")
	require.NoError(t, err)
	require.False(t, ok)
	h, err := cdb.History("r", "k7", 0, 0)
	require.NoError(t, err)
	require.Len(t, h, 10, "every version up to the checkpoint")
	require.NoError(t, cdb.Close())

	// Sealed segments were hard-linked: they share the source's inodes.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	linked := 0
	for _, e := range entries {
		a, errA := os.Stat(filepath.Join(dir, e.Name()))
		b, errB := os.Stat(filepath.Join(src, e.Name()))
		if errA == nil && errB == nil && os.SameFile(a, b) {
			linked++
		}
	}
	require.Positive(t, linked)

	ro, err := kv.Open(src, &kv.Options{ReadOnly: true})
	if err == nil { // (the source is open: a read-only Open may share it)
		_, err = ro.Checkpoint(filepath.Join(t.TempDir(), "ro"))
		require.ErrorIs(t, err, kv.ErrReadOnly)
		ro.Close()
	}
}
