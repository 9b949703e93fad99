package kv

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// Probe (holds up): the hint Close writes for the newest segment, then a
// reopen that writes more, a power loss at every operation of the second
// session, and a reopen of each image.
func TestReviewProbeCloseHintThenWriteThenCrash(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem, -1, false)
	opts := Options{Durability: Strict, SegmentSize: 2 << 10, Retention: Retention{KeepVersions: 2}, CompactAt: -1}
	db, err := openMem(t, efs, opts)
	require.NoError(t, err)
	for i := range 50 {
		mustPut(t, db, "r", fmt.Sprintf("k%02d", i%10), Int(int64(i)))
	}
	require.NoError(t, db.Close())
	var images []*vfs.Mem
	efs.SetAfter(func(vfs.Op) { images = append(images, mem.CrashClone(0)) })
	db, err = openMem(t, efs, opts)
	require.NoError(t, err)
	acked := map[string]int64{}
	for i := 50; i < 120; i++ {
		k := fmt.Sprintf("k%02d", i%10)
		mustPut(t, db, "r", k, Int(int64(i)))
		acked[k] = int64(i)
		if i == 90 {
			_, err := db.Compact(t.Context())
			require.NoError(t, err)
		}
	}
	require.NoError(t, db.Close())
	efs.SetAfter(func(vfs.Op) {})
	images = append(images, mem.CrashClone(0))
	t.Logf("%d images", len(images))
	for n, img := range images {
		db, err := openMem(t, img, opts)
		require.NoError(t, err, "image %d", n)
		for i := range 10 {
			k := fmt.Sprintf("k%02d", i)
			h, err := db.History("r", k, 0, 0)
			require.NoError(t, err)
			require.NotEmpty(t, h, "image %d %s", n, k)
			v, _ := h[0].Value.AsInt()
			require.Equal(t, int64(i), v%10, "image %d %s", n, k)
		}
		require.NoError(t, db.Close())
		db, err = openMem(t, img, opts)
		require.NoError(t, err, "image %d twice", n)
		require.NoError(t, db.Close())
	}
	db, err = openMem(t, images[len(images)-1], opts)
	require.NoError(t, err)
	for k, want := range acked {
		require.Equal(t, Int(want), mustGet(t, db, "r", k).Value)
	}
	require.NoError(t, db.Close())
}
