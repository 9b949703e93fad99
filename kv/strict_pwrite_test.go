package kv

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/stretchr/testify/require"
)

// writeAtFS is the OS file system whose files keep their shared
// mappings and count the WriteAt calls made on them.
type writeAtFS struct {
	vfs.FS
	n atomic.Int64
}

func (fs *writeAtFS) OpenRW(name string) (vfs.File, error) {
	f, err := fs.FS.OpenRW(name)
	if err != nil {
		return nil, err
	}
	return &writeAtFile{File: f, fs: fs}, nil
}

type writeAtFile struct {
	vfs.File
	fs *writeAtFS
}

func (f *writeAtFile) MapShared(size int64) (vfs.Mapping, error) {
	return f.File.(vfs.SharedMapper).MapShared(size)
}

func (f *writeAtFile) WriteAt(b []byte, off int64) (int, error) {
	f.fs.n.Add(1)
	return f.File.(vfs.SharedMapper).WriteAt(b, off)
}

// A Strict database writes every group with pwrite, however small (a
// copy into the mapping would fault on the page its last fsync
// write-protected), and a Buffered one copies small groups into the
// mapping; both read back what they wrote, before and after a reopen.
func TestStrictGroupsAreWrittenNotCopied(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shared mappings are used on Linux only")
	}
	for _, d := range []Durability{Buffered, Strict} {
		fs := &writeAtFS{FS: vfs.Default}
		dir := t.TempDir()
		o, err := (&Options{Durability: d}).normalize()
		require.NoError(t, err)
		db, err := openFS(fs, dir, o)
		require.NoError(t, err)
		before := fs.n.Load()
		for i := range 20 {
			_, err := db.Put("r", "k", Int(int64(i)))
			require.NoError(t, err)
		}
		writes := fs.n.Load() - before
		got, ok, err := db.Get("r", "k")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, Int(19), got.Value)
		require.NoError(t, db.Close())
		if d == Strict {
			require.EqualValues(t, 20, writes, "each Strict commit written with WriteAt")
		} else {
			require.Zero(t, writes, "Buffered's small commits copied into the mapping")
		}
		db, err = openFS(fs, dir, o)
		require.NoError(t, err)
		got, ok, err = db.Get("r", "k")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, Int(19), got.Value, "%v, reopened", d)
		require.NoError(t, db.Close())
	}
}
