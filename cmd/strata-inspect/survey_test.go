package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

// verify judges damage as Open does (SyncProof): a stored value holding
// copies of the head of an unsynced commit does not make it call a torn
// tail, which Open cuts, corruption. (Found by review.)
func TestVerifyAgreesWithOpenOnStoredHeads(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	noise := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	dir := t.TempDir()
	seg := filepath.Join(dir, segment.FileName(1))
	db, err := kv.Open(dir, &kv.Options{Durability: kv.Buffered, SyncInterval: time.Hour})
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err := db.Put("r", fmt.Sprint("k", i), kv.Int(int64(i)))
		require.NoError(t, err)
	}
	require.NoError(t, db.Sync())
	end3 := db.Stats().LiveBytes                        // the segment's frames (its file is longer: space reserved for writes)
	_, err = db.Put("r", "small", kv.Bytes(noise(200))) // version 4, unsynced
	require.NoError(t, err)
	b, err := os.ReadFile(seg)
	require.NoError(t, err)
	head := b[end3 : end3+12] // tag, head check and the head's uvarints (and a little more)
	var blob []byte
	for i := 0; i < 3000; i++ {
		blob = append(append(blob, head...), noise(60)...)
	}
	_, err = db.Put("r", "blob", kv.Bytes(blob)) // version 5, unsynced
	require.NoError(t, err)
	require.NoError(t, db.Close())

	// A power loss image: the last 100 bytes (Close's sync marker and the
	// end of version 5) lost, and a hole in version 4. None of it was
	// fsynced before the crash.
	b, err = os.ReadFile(seg)
	require.NoError(t, err)
	b = b[:len(b)-100]
	clear(b[end3+20 : end3+40])
	require.NoError(t, os.WriteFile(seg, b, 0o600))

	img := filepath.Join(t.TempDir(), "img")
	require.NoError(t, os.MkdirAll(img, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(img, segment.FileName(1)), b, 0o600))

	res := inspect(t, "verify", dir)
	db2, err := kv.Open(img, nil)
	require.NoError(t, err, "Open: a torn tail")
	require.EqualValues(t, 3, db2.LastVersion())
	require.NoError(t, db2.Close())
	require.Equal(t, 0, res.code, "verify must agree with Open that this is a torn tail:\n%s", res.stdout)
}
