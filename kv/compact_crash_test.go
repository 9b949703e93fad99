package kv

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// A power loss at every file-system operation of a compaction (create,
// write, sync, rename, remove, directory sync, and the manifest's) leaves
// a directory that opens to the state before the compaction or after it:
// every key's newest version there, its history the full one or the
// trimmed one (never less than Retention keeps, never a gap), no deleted
// key back, no value changed.
func TestCompactionCrashPoints(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem, -1, false)
	opts := Options{SegmentSize: 2 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1}
	db, err := openMem(t, efs, opts)
	require.NoError(t, err)
	const keys = 20
	for j := range 4 {
		for i := range keys {
			mustPut(t, db, "r", fmt.Sprintf("k%02d", i), String(fmt.Sprintf("k%02d/%d", i, j)))
		}
	}
	for i := 0; i < keys; i += 5 {
		_, err := db.Delete("r", fmt.Sprintf("k%02d", i))
		require.NoError(t, err)
	}
	require.NoError(t, db.Sync())
	full := map[string][]Versioned{}
	for i := range keys {
		k := fmt.Sprintf("k%02d", i)
		h, err := db.History("r", k, 0, 0)
		require.NoError(t, err)
		full[k] = h
	}

	var mu sync.Mutex
	var images []*vfs.Mem
	var ops []vfs.Op
	efs.SetAfter(func(op vfs.Op) {
		img := mem.CrashClone(0)
		mu.Lock()
		images, ops = append(images, img), append(ops, op)
		mu.Unlock()
	})
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.Positive(t, st.VersionsDropped)
	efs.SetAfter(func(vfs.Op) {})
	require.NoError(t, db.Close())
	t.Logf("%d crash images over %d operations of the compaction", len(images), len(ops))
	require.Greater(t, len(images), 10)

	compacted := 0
	for n, img := range images {
		db, err := openMem(t, img, opts)
		require.NoError(t, err, "image %d (after %s)", n, ops[n])
		trimmed := false
		for k, h := range full {
			got, err := db.History("r", k, 0, 0)
			require.NoError(t, err)
			require.LessOrEqual(t, len(got), len(h), "image %d key %s", n, k)
			if len(got) < len(h) {
				trimmed = true
			}
			// What is there is the newest versions of the full history,
			// whole and unchanged.
			for i := range got {
				require.Equal(t, h[i].Version, got[i].Version, "image %d key %s", n, k)
				require.True(t, h[i].Value.Equal(got[i].Value), "image %d key %s", n, k)
				require.Equal(t, h[i].Deleted, got[i].Deleted)
			}
			if !h[0].Deleted {
				require.NotEmpty(t, got, "image %d key %s: the newest version is kept", n, k)
			} else {
				absent(t, db, "r", k)
			}
		}
		if trimmed {
			compacted++
		}
		require.NoError(t, db.Close())
	}
	require.Positive(t, compacted, "some images are after the switch")
	require.Less(t, compacted, len(images), "some are before it")
}
