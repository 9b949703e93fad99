package segment

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/stretchr/testify/require"
)

var errR13 = errors.New("injected (review13)")

// r13FS is the OS file system whose segment files keep their shared
// mappings, but whose WriteAt writes only the first half of what it is
// given before failing (as pwrite does when EIO or EFBIG strikes part
// way), and whose Truncate fails when told to.
type r13FS struct {
	vfs.FS
	halfWriteAt bool
	failTrunc   bool
}

func (fs *r13FS) OpenRW(name string) (vfs.File, error) {
	f, err := fs.FS.OpenRW(name)
	if err != nil {
		return nil, err
	}
	return &r13File{File: f, fs: fs}, nil
}

type r13File struct {
	vfs.File
	fs *r13FS
}

func (f *r13File) MapShared(size int64) (vfs.Mapping, error) {
	return f.File.(vfs.SharedMapper).MapShared(size)
}

func (f *r13File) WriteAt(b []byte, off int64) (int, error) {
	sm := f.File.(vfs.SharedMapper)
	if f.fs.halfWriteAt {
		n, err := sm.WriteAt(b[:len(b)/2], off)
		if err != nil {
			return n, err
		}
		return n, errR13
	}
	return sm.WriteAt(b, off)
}

func (f *r13File) Truncate(size int64) error {
	if f.fs.failTrunc {
		return errR13
	}
	return f.File.Truncate(size)
}

// A group flushed with WriteAt that fails part way must leave none of
// its bytes in the file, whatever the truncation does: cutBack says it
// zeroes the failed bytes through the mapping "so that the file holds
// none of them whatever the truncation does", and the Writer promises
// that nothing of a failed group ever reaches the file. But Flush calls
// cutBack(flushed) with flushed not yet advanced past the partial write,
// so the range it clears is empty: when the truncation fails too, the
// group's first commit stays in the file as a whole, valid frame, and a
// scan (recovery after a restart) finds a commit whose Flush failed.
func TestReview13PartialWriteAtLeavesFailedCommitInFile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shared mappings are used on Linux only")
	}
	dir := t.TempDir()
	fs := &r13FS{FS: vfs.Default}
	w, err := Create(fs, dir, 1, 1, 100)
	require.NoError(t, err)
	require.True(t, w.MapWrites(1<<20))

	// One group of two commits, 4 KiB in all (>= writeAtMin): the half
	// that gets written holds all of commit 1's frame.
	_, _, err = w.AppendCommit(1, 101, []EntrySpec{{Op: OpPut, Run: "r", Key: "a", Value: bytes.Repeat([]byte{'x'}, 1000)}}, nil)
	require.NoError(t, err)
	_, _, err = w.AppendCommit(2, 102, []EntrySpec{{Op: OpPut, Run: "r", Key: "b", Value: bytes.Repeat([]byte{'y'}, 3000)}}, nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(w.buf), writeAtMin)

	fs.halfWriteAt, fs.failTrunc = true, true
	require.Error(t, w.Flush(), "the group's write failed: neither commit is acknowledged")
	require.Equal(t, int64(HeaderSize), w.Flushed())
	require.Error(t, w.Close(false))

	path := filepath.Join(dir, FileName(1))
	s, err := OpenSealed(vfs.Default, path)
	require.NoError(t, err)
	defer s.Close()
	if f, err := s.Scanner().Next(); err == nil && !f.Marker() {
		t.Errorf("the file holds commit %d as a valid frame, whose Flush failed", f.Version)
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	tail := b[HeaderSize:min(len(b), HeaderSize+4200)]
	require.Equal(t, -1, bytes.IndexFunc(tail, func(r rune) bool { return r != 0 }),
		"bytes of the failed group are left in the file after the frames Flush reported")
}
