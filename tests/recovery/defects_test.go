// Package recovery_test reproduces the recovery defects of issue 6, one
// test each, through the public API (and the in-memory file system where
// a crash image is needed).
package recovery_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
)

func noise(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Defect 3: a value holding the bytes of valid frames (here a whole
// segment file) cut short by a crash is a torn tail, not corruption.
func TestStoredFramesCannotForgeRecovery(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	mem := vfs.NewMem()
	opts := &kv.Options{Durability: kv.Buffered, SyncInterval: time.Hour}
	db, err := kvtest.OpenFS(mem, "/db", opts)
	require.NoError(t, err)
	for i := 0; i < 20; i++ {
		_, err := db.Put("r", fmt.Sprintf("k%d", i), kv.Bytes(noise(r, 200)))
		require.NoError(t, err)
	}
	require.NoError(t, db.Sync())
	seg, err := vfs.ReadFile(mem, "/db/0000000001.seg")
	require.NoError(t, err)
	_, err = db.Put("r", "blob", kv.Bytes(seg)) // written, not synced
	require.NoError(t, err)
	for _, keep := range []float64{0.1, 0.3, 0.5, 0.7, 0.9, 0.99} {
		img := mem.CrashClone(keep)
		db2, err := kvtest.OpenFS(img, "/db", opts)
		require.NoError(t, err, "keep %v: a torn write of stored frames is not corruption", keep)
		require.EqualValues(t, 20, db2.LastVersion(), "keep %v", keep)
		require.NoError(t, db2.Close())
	}
	require.NoError(t, db.Close())
}

// Defect 4: Close inside a transaction function returns an error instead
// of waiting for itself forever.
func TestCloseInsideTransactionReturnsError(t *testing.T) {
	db, err := kv.Open(t.TempDir(), nil)
	require.NoError(t, err)
	done := make(chan [2]error, 2)
	go func() {
		var inner error
		err := db.View(func(tx *kv.Txn) error { inner = db.Close(); return nil })
		done <- [2]error{inner, err}
	}()
	go func() {
		var inner error
		_, err := db.Update(func(tx *kv.Txn) error { inner = db.Close(); return tx.Put("r", "k", kv.Int(1)) })
		done <- [2]error{inner, err}
	}()
	for i := 0; i < 2; i++ {
		select {
		case errs := <-done:
			require.Error(t, errs[0], "Close inside a transaction function must fail")
		case <-time.After(30 * time.Second):
			t.Fatal("Close inside a transaction function hangs")
		}
	}
	require.NoError(t, db.Close())
}

// Defect 4: every Close returns only once the directory is released, so
// a reopen right after any of them succeeds.
func TestConcurrentCloseReleasesBeforeReturning(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 50; i++ {
		db, err := kv.Open(dir, &kv.Options{Durability: kv.Strict})
		require.NoError(t, err)
		_, err = db.Put("r", "k", kv.Int(int64(i)))
		require.NoError(t, err)
		first := make(chan error, 2)
		var wg sync.WaitGroup
		for j := 0; j < 2; j++ {
			wg.Add(1)
			go func() { defer wg.Done(); first <- db.Close() }()
		}
		require.NoError(t, <-first)
		db2, err := kv.Open(dir, nil)
		require.NoError(t, err, "round %d: reopen right after a Close returned", i)
		wg.Wait()
		require.NoError(t, <-first)
		require.NoError(t, db2.Close())
	}
}

// frameEnds returns the size of the only segment after each commit: one
// Put is one frame, written at once.
func segSize(t *testing.T, dir string) int64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(dir, "0000000001.seg"))
	require.NoError(t, err)
	return st.Size()
}

// Defect 5: a power loss that kept a later page of the unsynced tail but
// not an earlier one leaves a hole with intact frames after it. That is a
// torn tail (Open keeps what precedes the hole); the same damage to
// synced bytes is corruption.
func TestHoleInUnsyncedTailIsTorn(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{Durability: kv.Buffered, SyncInterval: time.Hour})
	require.NoError(t, err)
	ends := []int64{db.Stats().LiveBytes} // the one segment's size
	for i := 0; i < 15; i++ {
		_, err := db.Put("r", fmt.Sprintf("k%d", i), kv.String(fmt.Sprintf("value %d", i)))
		require.NoError(t, err)
		ends = append(ends, db.Stats().LiveBytes)
		if i == 4 {
			require.NoError(t, db.Sync()) // versions 1-5 are synced
		}
	}
	zero := func(dir string, from, to int64) {
		path := filepath.Join(dir, "0000000001.seg")
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		clear(b[from:to])
		require.NoError(t, os.WriteFile(path, b, 0o600))
	}
	// A hole over version 8 (unsynced), versions 9-15 intact after it.
	img := kvtest.CopyDir(t, dir)
	zero(img, ends[7], ends[8])
	db2, err := kv.Open(img, nil)
	require.NoError(t, err, "a hole in never-synced bytes is a torn tail")
	require.EqualValues(t, 7, db2.LastVersion())
	require.NoError(t, db2.Close())

	// The same hole over version 3 (synced) is corruption.
	img = kvtest.CopyDir(t, dir)
	zero(img, ends[2], ends[3])
	_, err = kv.Open(img, nil)
	require.True(t, errors.Is(err, kv.ErrCorrupt), "damage to synced bytes: %v", err)
	require.NoError(t, db.Close())
}

// Stored copies of frames cannot forge a claim either: a segment file kept
// as a blob after a clean Close ends with the closing sync marker, and one
// kept right after an unsynced Put holds that Put's frame. Neither claims
// that the torn bytes were fsynced, wherever it lies. (Found by review.)
func TestStoredMarkersAndUnsyncedFramesCannotForgeRecovery(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	opts := &kv.Options{Durability: kv.Buffered, SyncInterval: time.Hour}
	t.Run("a stored closing marker", func(t *testing.T) {
		mem := vfs.NewMem()
		db, err := kvtest.OpenFS(mem, "/db", opts)
		require.NoError(t, err)
		for i := 0; i < 20; i++ {
			_, err := db.Put("r", fmt.Sprintf("k%d", i), kv.Bytes(noise(r, 200)))
			require.NoError(t, err)
		}
		require.NoError(t, db.Close()) // ends the segment with a sync marker
		db, err = kvtest.OpenFS(mem, "/db", opts)
		require.NoError(t, err)
		seg, err := vfs.ReadFile(mem, "/db/0000000001.seg")
		require.NoError(t, err)
		blob := append(append([]byte(nil), seg...), noise(r, 4000)...)
		_, err = db.Put("r", "blob", kv.Bytes(blob)) // written, not synced
		require.NoError(t, err)
		for _, keep := range []float64{0.7, 0.9, 0.99} {
			db2, err := kvtest.OpenFS(mem.CrashClone(keep), "/db", opts)
			require.NoError(t, err, "keep %v: a torn write of a stored segment file is not corruption", keep)
			require.EqualValues(t, 20, db2.LastVersion(), "keep %v", keep)
			require.NoError(t, db2.Close())
		}
		require.NoError(t, db.Close())
	})
	t.Run("a stored unsynced frame", func(t *testing.T) {
		mem := vfs.NewMem()
		db, err := kvtest.OpenFS(mem, "/db", opts)
		require.NoError(t, err)
		for i := 0; i < 5; i++ {
			_, err := db.Put("r", fmt.Sprintf("k%d", i), kv.Bytes(noise(r, 100)))
			require.NoError(t, err)
		}
		require.NoError(t, db.Sync()) // versions 1-5 durable
		seg, err := vfs.ReadFile(mem, "/db/0000000001.seg")
		require.NoError(t, err)
		synced := int64(len(seg))
		_, err = db.Put("r", "a", kv.Bytes(noise(r, 1000))) // version 6, unsynced
		require.NoError(t, err)
		seg, err = vfs.ReadFile(mem, "/db/0000000001.seg")
		require.NoError(t, err)
		_, err = db.Put("r", "blob", kv.Bytes(seg)) // version 7, unsynced, holding version 6's frame
		require.NoError(t, err)
		// Power loss: every unsynced page reached the disk but one in the
		// middle of version 6's frame.
		const page = 64
		lost := synced/page + 4
		img := mem.CrashImage(vfs.Pages(page, func(_ string, p int64) bool { return p != lost }, func(b []byte) { clear(b) }))
		db2, err := kvtest.OpenFS(img, "/db", opts)
		require.NoError(t, err, "a hole in never-fsynced bytes is a torn tail")
		require.EqualValues(t, 5, db2.LastVersion())
		require.NoError(t, db2.Close())
		require.NoError(t, db.Close())
	})
}
