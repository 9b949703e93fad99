package recovery_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
)

// A copy of a data directory (a backup restored, a fixture forked) shares
// its segments' salts with the original. Frames the original writes later
// claim what is true of its own files only; stored as a value in the copy,
// they must not prove that bytes of the copy were fsynced. They cannot,
// because every writable Open writes to a new segment with a new salt.
// (Found by review.)
func TestCopiedDirectoryCannotForgeProofs(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	mem := vfs.NewMem()
	strict := &kv.Options{Durability: kv.Strict}
	db, err := kvtest.OpenFS(mem, "/a", strict)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err := db.Put("r", fmt.Sprintf("k%d", i), kv.Bytes(noise(r, 100)))
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	// Back up /a as /b.
	require.NoError(t, mem.MkdirAll("/b"))
	seg, err := vfs.ReadFile(mem, "/a/0000000001.seg")
	require.NoError(t, err)
	require.NoError(t, vfs.WriteFileAtomic(mem, "/b/0000000001.seg", seg))

	// The original goes on.
	db, err = kvtest.OpenFS(mem, "/a", strict)
	require.NoError(t, err)
	for i := 0; i < 30; i++ {
		_, err := db.Put("r", fmt.Sprintf("later%d", i), kv.Bytes(noise(r, 200)))
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())
	newer, err := vfs.ReadFile(mem, "/a/0000000001.seg")
	require.NoError(t, err)

	// The backup is restored and the newer segment kept in it as a blob;
	// the machine loses power while that Put is being written.
	buffered := &kv.Options{Durability: kv.Buffered, SyncInterval: time.Hour}
	db, err = kvtest.OpenFS(mem, "/b", buffered)
	require.NoError(t, err)
	_, err = db.Put("r", "blob", kv.Bytes(newer))
	require.NoError(t, err)
	img := mem.CrashClone(0.6) // the blob's frame cut short: a torn tail
	require.NoError(t, db.Close())

	db2, err := kvtest.OpenFS(img, "/b", buffered)
	if err != nil {
		require.True(t, errors.Is(err, kv.ErrCorrupt), "%v", err)
		t.Fatalf("a torn write whose value holds frames of the directory's original was reported as corruption: %v", err)
	}
	require.EqualValues(t, 3, db2.LastVersion())
	require.NoError(t, db2.Close())
}
