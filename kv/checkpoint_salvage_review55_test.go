package kv

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// RecoverSalvage on every crash image (power loss and process crash) of
// a Checkpoint: if it opens, every key it holds has the value it had at
// the version it opened at (no mix of versions).
func TestReview55CheckpointSalvageImages(t *testing.T) {
	for _, keep := range []float64{0, 1} {
		mem := vfs.NewMem()
		efs := vfs.NewErrorFS(mem, -1, false)
		db, err := openMem(t, efs, Options{SegmentSize: 4 << 10, CompactAt: -1})
		require.NoError(t, err)
		at := map[Version]map[string]int64{}
		cur := map[string]int64{}
		for i := range 300 {
			k := fmt.Sprintf("k%03d", i%40)
			v := mustPut(t, db, "r", k, Int(int64(i)))
			cur[k] = int64(i)
			snap := map[string]int64{}
			for a, b := range cur {
				snap[a] = b
			}
			at[v] = snap
		}
		var images []*vfs.Mem
		efs.SetAfter(func(op vfs.Op) {
			if strings.HasPrefix(op.Path, "/cp") {
				images = append(images, mem.CrashClone(keep))
			}
		})
		_, err = db.Checkpoint("/cp")
		efs.SetAfter(nil)
		require.NoError(t, err)
		db.Close()
		o, err := (&Options{Recovery: RecoverSalvage}).normalize()
		require.NoError(t, err)
		opened := map[Version]int{}
		for n, img := range images {
			cdb, err := openFS(img, "/cp", o)
			if err != nil {
				continue
			}
			lv := cdb.LastVersion()
			opened[lv]++
			if lv != 0 {
				for k, x := range at[lv] {
					got, ok, err := cdb.Get("r", k)
					require.NoError(t, err)
					require.True(t, ok, "keep %v image %d at %d: %s", keep, n, lv, k)
					i, _ := got.Value.AsInt()
					require.Equal(t, x, i, "keep %v image %d at %d: %s", keep, n, lv, k)
				}
			}
			cdb.Close()
		}
		t.Logf("keep %v: %d images, opened at versions %v", keep, len(images), opened)
	}
}
