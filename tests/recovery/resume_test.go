package recovery_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

// An Open that cut a torn tail and stopped before creating the new segment
// must not leave the next Open appending to the cut segment under its old
// salt, where stale blocks of the cut tail (a later power loss can show
// them again) could pass for new frames. Every writable Open writes to a
// new segment, so the cut frame never comes back. (Found by review.)
func TestInterruptedOpenNeverResumesACutSegment(t *testing.T) {
	const seg = "/db/0000000001.seg"
	mem := vfs.NewMem()
	opts := &kv.Options{Durability: kv.Buffered, SyncInterval: time.Hour}
	db, err := kvtest.OpenFS(mem, "/db", opts)
	require.NoError(t, err)
	size := func(fs vfs.FS) int64 {
		b, err := vfs.ReadFile(fs, seg)
		require.NoError(t, err)
		return int64(len(b))
	}
	for i := 1; i <= 3; i++ {
		_, err := db.Put("r", fmt.Sprint("k", i), kv.String("old"))
		require.NoError(t, err)
	}
	end3 := size(mem)
	require.NoError(t, db.Sync()) // versions 1-3 durable (the sync marker after them is not)
	_, err = db.Put("r", "k4", kv.String("aaaa"))
	require.NoError(t, err)
	end4 := size(mem)
	_, err = db.Put("r", "k5", kv.String("AAAA"))
	require.NoError(t, err)
	full, err := vfs.ReadFile(mem, seg)
	require.NoError(t, err)
	oldV5 := append([]byte(nil), full[end4:]...)

	// Power loss 1: the page of version 4 lost, version 5's kept (a hole).
	img := mem.CrashImage(func(_ string, synced int64, unsynced []byte) []byte {
		out := append([]byte(nil), unsynced...)
		clear(out[:end4-synced])
		return out
	})
	require.NoError(t, db.Close())

	// Open 1 cuts the torn tail (versions 4 and 5) but stops before the
	// new segment exists.
	ffs := &failCreateFS{FS: img, suffix: ".seg.tmp"}
	ffs.armed.Store(true)
	_, err = kvtest.OpenFS(ffs, "/db", opts)
	require.Error(t, err)
	require.Equal(t, end3, size(img), "the torn tail was cut")

	// Open 2 writes version 4 again, to a new segment: the cut one is
	// never appended to.
	db, err = kvtest.OpenFS(img, "/db", opts)
	require.NoError(t, err)
	require.EqualValues(t, 3, db.LastVersion())
	_, err = db.Put("r", "k4", kv.String("bbbb"))
	require.NoError(t, err)
	require.Equal(t, end3, size(img), "the cut segment is left as it is")
	// Power loss 2: the new version 4 reached the disk, and after it the
	// file shows stale blocks holding the old version 5.
	stale := 0
	img2 := img.CrashImage(func(name string, _ int64, unsynced []byte) []byte {
		if strings.HasSuffix(name, segment.HintExt) {
			return unsynced // hint files are never synced
		}
		stale++
		return append(append([]byte(nil), unsynced...), oldV5...)
	})
	require.Equal(t, 1, stale, "the new segment had unsynced data")
	require.NoError(t, db.Close())

	db, err = kvtest.OpenFS(img2, "/db", opts)
	require.NoError(t, err)
	defer db.Close()
	v, ok, err := db.Get("r", "k5")
	require.NoError(t, err)
	require.False(t, ok, "k5 = %v at version %d: a frame cut by an earlier recovery passed for a new commit", v.Value, v.Version)
	v, ok, err = db.Get("r", "k4")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, `"bbbb"`, v.Value.String())
}
