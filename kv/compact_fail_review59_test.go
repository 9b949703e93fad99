package kv

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// Review 59: a failure at each file-system operation of an explicit
// Compact (outputs, hints, manifest, removals). Whatever fails, the
// database either goes on or fails-stop; Close returns; every
// acknowledged commit (before and after the Compact) opens again, with
// the newest value of each key and LastVersion as acknowledged, in the
// process image and after a power loss.
func TestReview59FailureAtEveryCompactionOp(t *testing.T) {
	const keys = 12
	for k := int64(0); ; k++ {
		mem := vfs.NewMem()
		efs := vfs.NewErrorFS(mem, -1, false)
		db, err := openMem(t, efs, Options{Durability: Strict, SegmentSize: 700, CompactAt: -1, Retention: Retention{KeepVersions: 1}})
		require.NoError(t, err)
		want := map[string]int64{}
		for i := range 120 {
			key := fmt.Sprintf("k%02d", i%keys)
			mustPut(t, db, DefaultRun, key, Int(int64(i)))
			want[key] = int64(i)
		}
		start := efs.Ops()
		efs.FailWhen(func(op vfs.Op) bool { return op.Index == start+k })
		_, cerr := db.Compact(context.Background())
		hit := efs.Ops() > start+k
		efs.FailWhen(nil)
		// Writes after: acknowledged ones must survive.
		last := db.LastVersion()
		if v, err := db.Put(DefaultRun, "after", Int(1)); err == nil {
			want["after"] = 1
			last = v
		}
		closeErr := db.Close()
		_ = closeErr
		for name, img := range map[string]*vfs.Mem{"process": mem.CrashClone(1), "power": mem.CrashClone(0)} {
			db2, err := openMem(t, img, Options{Durability: Strict, CompactAt: -1})
			require.NoError(t, err, "k=%d image %s (compact err %v)", k, name, cerr)
			require.Equal(t, last, db2.LastVersion(), "k=%d image %s", k, name)
			for key, v := range want {
				got := mustGet(t, db2, DefaultRun, key)
				require.Equal(t, Int(v), got.Value, "k=%d image %s key %s", k, name, key)
			}
			require.NoError(t, db2.Close())
		}
		if !hit {
			t.Logf("compaction took %d operations", k)
			return
		}
		if k > 400 {
			t.Fatalf("compaction never finished within 400 operations")
		}
	}
}
