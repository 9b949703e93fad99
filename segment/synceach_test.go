package segment

import (
	"bytes"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/stretchr/testify/require"
)

// countFS is the OS file system whose segment files keep their shared
// mappings and count the WriteAt calls made on them.
type countFS struct {
	vfs.FS
	writeAts atomic.Int64
}

func (fs *countFS) OpenRW(name string) (vfs.File, error) {
	f, err := fs.FS.OpenRW(name)
	if err != nil {
		return nil, err
	}
	return &countFile{File: f, fs: fs}, nil
}

type countFile struct {
	vfs.File
	fs *countFS
}

func (f *countFile) MapShared(size int64) (vfs.Mapping, error) {
	return f.File.(vfs.SharedMapper).MapShared(size)
}

func (f *countFile) WriteAt(b []byte, off int64) (int, error) {
	f.fs.writeAts.Add(1)
	return f.File.(vfs.SharedMapper).WriteAt(b, off)
}

// A Writer told that an fsync follows every Flush writes even a small
// commit with WriteAt, and what it wrote reads back, through the
// mapping and after a Sync and Seal; without the call, small commits
// are copied into the mapping.
func TestSyncEachFlushWritesSmallCommitsAtOffsets(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shared mappings are used on Linux only")
	}
	for _, syncEach := range []bool{false, true} {
		fs := &countFS{FS: vfs.Default}
		w, err := Create(fs, t.TempDir(), 1, 1, 100)
		require.NoError(t, err)
		require.True(t, w.MapWrites(64<<10))
		if syncEach {
			w.SyncEachFlush()
		}
		var offs []int64
		var vals [][]byte
		for v := uint64(1); v <= 50; v++ {
			val := bytes.Repeat([]byte{byte(v)}, 100)
			_, o, err := w.AppendCommit(v, 100+int64(v), []EntrySpec{{Op: OpPut, Run: "r", Key: "k", Value: val}}, nil)
			require.NoError(t, err)
			require.NoError(t, w.Flush())
			require.NoError(t, w.Sync())
			got, err := w.ReadAt(o[0], len(val))
			require.NoError(t, err)
			require.Equal(t, val, got, "commit %d read back at once", v)
			offs, vals = append(offs, o[0]), append(vals, val)
		}
		if syncEach {
			require.EqualValues(t, 50, fs.writeAts.Load(), "every flush written with WriteAt")
		} else {
			require.Zero(t, fs.writeAts.Load(), "small flushes copied into the mapping")
		}
		s, err := w.Seal(fs)
		require.NoError(t, err)
		for i, o := range offs {
			require.Equal(t, vals[i], s.Bytes()[o:o+int64(len(vals[i]))], "commit %d, sealed", i+1)
		}
		require.Len(t, commitsIn(t, s), 50)
		require.NoError(t, s.Close())
	}
}
