package kv

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// A Checkpoint cut short by a crash at any of its file operations leaves
// its directory missing (it is written beside it and renamed last) or
// whole: never empty (Open would take it for a new database), nor one
// Open refuses as damaged, nor one that reads as a database at another
// version or holds the returned version with something missing. What a
// crash leaves beside it, the temporary directory, Open refuses as
// damaged until it is complete. Once Checkpoint returned, the crash image holds exactly the
// database at the returned version.
func TestCheckpointCrashPoints(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem, -1, false) // (which copies: it has no Link)
	db, err := openMem(t, efs, Options{SegmentSize: 4 << 10, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	for i := range 300 {
		mustPut(t, db, "r", fmt.Sprintf("k%03d", i%40), Int(int64(i)))
	}
	want := map[string]int64{}
	for i := range 300 {
		want[fmt.Sprintf("k%03d", i%40)] = int64(i)
	}
	var images []*vfs.Mem
	efs.SetAfter(func(op vfs.Op) {
		if strings.HasPrefix(op.Path, "/cp") {
			images = append(images, mem.CrashClone(0))
		}
	})
	v, err := db.Checkpoint("/cp")
	efs.SetAfter(nil)
	require.NoError(t, err)
	require.Equal(t, db.LastVersion(), v)
	final := mem.CrashClone(0)
	require.Greater(t, len(images), 10, "the checkpoint's operations")

	o, err := (&Options{ReadOnly: true}).normalize()
	require.NoError(t, err)
	var empty, refused, opened int
	check := func(img *vfs.Mem, n int, done bool) {
		for _, tmp := range must(img.List("/")) {
			if !strings.HasPrefix(tmp, "cp.checkpoint-") || len(must(img.List("/"+tmp))) == 0 {
				continue
			}
			tdb, err := openFS(img, "/"+tmp, o)
			if err == nil { // complete, not yet renamed
				require.Equal(t, v, tdb.LastVersion(), "image %d: the temporary %s", n, tmp)
				tdb.Close()
				continue
			}
			require.ErrorIs(t, err, ErrCorrupt, "image %d: the temporary %s is refused as damaged", n, tmp)
			refused++
		}
		names, err := img.List("/cp")
		if err != nil {
			require.False(t, done, "image %d: the checkpoint returned, its directory is gone", n)
			empty++
			return
		}
		require.NotEmpty(t, names, "image %d: /cp is empty", n)
		cdb, err := openFS(img, "/cp", o)
		require.NoError(t, err, "image %d (%v): /cp appears whole", n, names)
		defer cdb.Close()
		opened++
		require.Equal(t, v, cdb.LastVersion(), "image %d (%v): a checkpoint opens at its version only", n, names)
		for k, x := range want {
			got, ok, err := cdb.Get("r", k)
			require.NoError(t, err, "image %d %s", n, k)
			require.True(t, ok, "image %d %s", n, k)
			i, _ := got.Value.AsInt()
			require.Equal(t, x, i, "image %d %s", n, k)
		}
	}
	for n, img := range images {
		check(img, n, false)
	}
	check(final, len(images), true)
	t.Logf("%d crash images: %d without the checkpoint (%d temporary directories refused), %d open at its version", len(images)+1, empty, refused, opened)
	require.NotZero(t, empty)
	require.GreaterOrEqual(t, opened, 1, "the final image")
}

// A Checkpoint that fails at any of its file operations returns the
// error and leaves nothing at its directory (so the same one can be
// tried again), and a retry there succeeds.
func TestCheckpointFailurePointsLeaveNothing(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem, -1, false)
	db, err := openMem(t, efs, Options{SegmentSize: 4 << 10, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	for i := range 200 {
		mustPut(t, db, "r", fmt.Sprintf("k%03d", i%40), Int(int64(i)))
	}
	ops := 0
	failed := 0
	for at := 0; ; at++ {
		n := 0
		efs.FailWhen(func(op vfs.Op) bool {
			if !strings.HasPrefix(op.Path, "/cp") {
				return false
			}
			n++
			return n == at+1
		})
		_, err := db.Checkpoint("/cp")
		efs.FailWhen(nil)
		if err == nil {
			if n <= at { // nothing failed: every operation was tried
				ops = n
				break
			}
			// A failed List of /cp reads as "not there": nothing else failed.
			require.NoError(t, mem.Remove("/cp/MANIFEST"))
			for _, name := range must(mem.List("/cp")) {
				require.NoError(t, mem.Remove("/cp/"+name))
			}
			require.NoError(t, mem.Remove("/cp"))
			continue
		}
		failed++
		_, lerr := mem.List("/cp")
		require.Error(t, lerr, "failure at operation %d (%v): /cp is left behind", at, err)
		for _, name := range must(mem.List("/")) {
			require.False(t, strings.HasPrefix(name, "cp."), "failure at operation %d (%v): %s is left behind", at, err, name)
		}
	}
	require.Greater(t, failed, 10)
	t.Logf("%d operations on /cp, each failed once", ops)
	o, err := (&Options{ReadOnly: true}).normalize()
	require.NoError(t, err)
	cdb, err := openFS(mem, "/cp", o)
	require.NoError(t, err)
	defer cdb.Close()
	require.Equal(t, db.LastVersion(), cdb.LastVersion())
}

func must[T any](x T, err error) T {
	if err != nil {
		panic(err)
	}
	return x
}

// splitDir trims trailing separators and "/." and splits what is left
// as text, cleaning nothing else.
func TestSplitDir(t *testing.T) {
	for _, c := range []struct{ in, dir, parent, base string }{
		{"cp", "cp", ".", "cp"},
		{"cp/", "cp", ".", "cp"},
		{"a/b/cp//", "a/b/cp", "a/b", "cp"},
		{"a/b/cp/.", "a/b/cp", "a/b", "cp"},
		{"a/b/cp/./", "a/b/cp", "a/b", "cp"},
		{"/cp", "/cp", "/", "cp"},
		{"/", "/", "/", ""},
		{"link/../cp", "link/../cp", "link/..", "cp"},
		{"../cp", "../cp", "..", "cp"},
		{"a/./cp", "a/./cp", "a/.", "cp"},
	} {
		if filepath.Separator != '/' {
			break
		}
		dir, parent, base := splitDir(c.in)
		require.Equal(t, []string{c.dir, c.parent, c.base}, []string{dir, parent, base}, c.in)
	}
}
