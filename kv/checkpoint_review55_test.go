package kv

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// A process crash (kill -9: every directory entry made so far survives,
// CrashClone(1)) at any file operation of a Checkpoint must leave /cp
// absent or whole (Checkpoint's doc: it "appears whole or not at all"),
// never empty, which Open takes for a new database; refused as damaged
// (review 55's first standard) is tolerated here. Checked with normal
// and ReadOnly opens.
func TestReview55CheckpointProcessCrashPoints(t *testing.T) {
	for _, ro := range []bool{false, true} {
		t.Run(fmt.Sprintf("readonly=%v", ro), func(t *testing.T) {
			mem := vfs.NewMem()
			efs := vfs.NewErrorFS(mem, -1, false)
			db, err := openMem(t, efs, Options{SegmentSize: 4 << 10, CompactAt: -1})
			require.NoError(t, err)
			defer db.Close()
			for i := range 300 {
				mustPut(t, db, "r", fmt.Sprintf("k%03d", i%40), Int(int64(i)))
			}
			var images []*vfs.Mem
			var ops []string
			efs.SetAfter(func(op vfs.Op) {
				if strings.HasPrefix(op.Path, "/cp") {
					images = append(images, mem.CrashClone(1))
					ops = append(ops, op.String())
				}
			})
			v, err := db.Checkpoint("/cp")
			efs.SetAfter(nil)
			require.NoError(t, err)
			o, err := (&Options{ReadOnly: ro}).normalize()
			require.NoError(t, err)
			var bad []string
			for n, img := range images {
				names, err := img.List("/cp")
				if err != nil {
					continue
				}
				if len(names) == 0 {
					bad = append(bad, fmt.Sprintf("image %d after %s: /cp empty (Open takes it for a new database)", n, ops[n]))
					continue
				}
				cdb, err := openFS(img, "/cp", o)
				if err != nil {
					if !errors.Is(err, ErrCorrupt) {
						bad = append(bad, fmt.Sprintf("image %d after %s %v: refused but not as ErrCorrupt: %v", n, ops[n], names, err))
					}
					continue
				}
				if got := cdb.LastVersion(); got != v {
					bad = append(bad, fmt.Sprintf("image %d after %s %v: opened at version %d, checkpoint is %d", n, ops[n], names, got, v))
				}
				cdb.Close()
			}
			require.Empty(t, bad, "%d images", len(images))
		})
	}
}

// Two Checkpoints into the same (not yet existing) dir, the second
// started before the first created it: both pass the "must not exist"
// check (made before compact.sem is taken), the second then writes over
// the first's finished checkpoint and, failing, removes the first's
// files. The first returned nil; its checkpoint must still open at its
// version, or the second must be refused with ErrExist.
func TestReview55ConcurrentCheckpointSameDir(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem, -1, false)
	var lists atomic.Int32
	var started atomic.Bool
	bListed := make(chan struct{})
	hfs := &review55ListHook{FS: efs, after: func(dir string) {
		if dir == "/cp" && started.Load() && lists.Add(1) == 1 {
			close(bListed)
		}
	}}
	db, err := openMem(t, hfs, Options{SegmentSize: 4 << 10, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	for i := range 300 {
		mustPut(t, db, "r", fmt.Sprintf("k%03d", i%40), Int(int64(i)))
	}
	var aDone atomic.Bool
	var bSyncs atomic.Int32
	bErr := make(chan error, 1)
	efs.FailWhen(func(op vfs.Op) bool {
		if op.Kind == vfs.OpMkdirAll && strings.HasPrefix(op.Path, "/cp") && started.CompareAndSwap(false, true) {
			go func() { _, err := db.Checkpoint("/cp"); bErr <- err }()
			<-bListed // B checked /cp before A created it
		}
		if aDone.Load() && op.Kind == vfs.OpSyncDir && strings.HasPrefix(op.Path, "/cp") {
			return bSyncs.Add(1) == 1 // B fails (since checkpoints are written beside dir and renamed, B never writes into /cp)
		}
		return false
	})
	v, err := db.Checkpoint("/cp")
	require.NoError(t, err)
	aDone.Store(true)
	errB := <-bErr
	efs.FailWhen(nil)
	t.Logf("second checkpoint: %v", errB)
	names, _ := mem.List("/cp")
	o, err := (&Options{ReadOnly: true}).normalize()
	require.NoError(t, err)
	cdb, err := openFS(mem, "/cp", o)
	require.NoError(t, err, "the first checkpoint returned nil (%v)", names)
	defer cdb.Close()
	require.Equal(t, v, cdb.LastVersion(), "the first checkpoint returned nil; /cp holds %v", names)
	require.Error(t, errB, "the second checkpoint into /cp")
	root, err := mem.List("/")
	require.NoError(t, err)
	for _, name := range root {
		require.False(t, strings.HasPrefix(name, "cp."), "a temporary directory left behind: %v", root)
	}
}

// review55ListHook calls after once a List has returned.
type review55ListHook struct {
	vfs.FS
	after func(dir string)
}

func (h *review55ListHook) List(dir string) ([]string, error) {
	names, err := h.FS.List(dir)
	h.after(dir)
	return names, err
}
