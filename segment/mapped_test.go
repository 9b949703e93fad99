package segment

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/stretchr/testify/require"
)

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Size()
}

// frameCount scans a sealed segment and returns its commits, failing on
// any bad frame.
func commitsIn(t *testing.T, s *Sealed) []uint64 {
	t.Helper()
	var vs []uint64
	sc := s.Scanner()
	for {
		f, err := sc.Next()
		if err == io.EOF {
			return vs
		}
		require.NoError(t, err)
		if !f.Marker() {
			vs = append(vs, f.Version)
		}
	}
}

func TestMapWritesOnlyWhereTheFileSystemCan(t *testing.T) {
	m := vfs.NewMem()
	require.NoError(t, m.MkdirAll("/d"))
	w, err := Create(m, "/d", 1, 1, 100)
	require.NoError(t, err)
	require.False(t, w.MapWrites(1<<20), "the in-memory file system has no shared mappings")
	require.NoError(t, w.Close(true))

	w, err = Create(vfs.Default, t.TempDir(), 1, 1, 100)
	require.NoError(t, err)
	defer w.Close(false)
	require.Equal(t, runtime.GOOS == "linux", w.MapWrites(1<<20))
}

// Frames copied into the mapping read back, grow the mapping when they do
// not fit (views taken before stay valid), and Close cuts the reserved
// space off: the file is exactly its frames, as a write(2) writer's.
func TestMapWritesCloseCutsReservedSpace(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shared mappings are used on Linux only")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, FileName(1))
	w, err := Create(vfs.Default, dir, 1, 1, 100)
	require.NoError(t, err)
	require.True(t, w.MapWrites(1<<20))
	require.EqualValues(t, 1<<20, fileSize(t, path), "reserved ahead")

	var views [][]byte
	var want [][]byte
	big := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB: two of them pass 1 MiB
	for v := uint64(1); v <= 4; v++ {
		val := append([]byte{byte(v)}, big...)
		_, offs, err := w.AppendCommit(v, 100+int64(v), []EntrySpec{{Op: OpPut, Run: "r", Key: "k", Value: val}}, nil)
		require.NoError(t, err)
		require.NoError(t, w.Flush())
		got, err := w.ReadAt(offs[0], len(val))
		require.NoError(t, err)
		views = append(views, got)
		want = append(want, val)
	}
	require.Greater(t, fileSize(t, path), int64(2<<20), "the mapping grew")
	for i := range views {
		require.True(t, bytes.Equal(want[i], views[i]), "view %d", i)
	}
	frames := w.Flushed()
	require.NoError(t, w.Close(true))
	size := fileSize(t, path)
	require.Greater(t, size, frames, "Close's sync marker")
	require.Less(t, size, frames+MaxHead)

	s, err := OpenSealed(vfs.Default, path)
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, []uint64{1, 2, 3, 4}, commitsIn(t, s), "the file is its frames, nothing after them")
}

// Seal hands the mappings to the Sealed: views ReadAt gave stay valid,
// the Writer still reads, and the file is cut to its frames.
func TestMapWritesSeal(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shared mappings are used on Linux only")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, FileName(1))
	w, err := Create(vfs.Default, dir, 1, 1, 100)
	require.NoError(t, err)
	require.True(t, w.MapWrites(1<<20))
	_, offs, err := w.AppendCommit(1, 101, []EntrySpec{put("r", "k", "hello")}, nil)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	view, err := w.ReadAt(offs[0], 5)
	require.NoError(t, err)

	s, err := w.Seal(vfs.Default)
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, "hello", string(view))
	got, err := w.ReadAt(offs[0], 5)
	require.NoError(t, err, "a reader still holding the Writer")
	require.Equal(t, "hello", string(got))
	require.Equal(t, w.Flushed(), fileSize(t, path))
	require.EqualValues(t, len(s.Bytes()), fileSize(t, path))
	require.Equal(t, []uint64{1}, commitsIn(t, s))
	_, _, err = w.AppendCommit(2, 102, []EntrySpec{put("r", "k", "x")}, nil)
	require.Error(t, err, "a sealed Writer appends nothing")
	require.NoError(t, w.Close(true), "Close after Seal does nothing")
	require.Equal(t, "hello", string(view), "the Sealed keeps the mapping")
}

// What a process that dies with the segment open leaves: frames, then
// zeros to the end of the reserved space. The frames are all there (they
// were in the page cache when the copy returned); DataEnd finds where the
// zeros begin.
func TestMapWritesCrashLeavesFramesThenZeros(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shared mappings are used on Linux only")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, FileName(1))
	w, err := Create(vfs.Default, dir, 1, 1, 100)
	require.NoError(t, err)
	require.True(t, w.MapWrites(1<<20))
	for v := uint64(1); v <= 3; v++ {
		_, _, err := w.AppendCommit(v, 100+int64(v), []EntrySpec{put("r", "k", "value")}, nil)
		require.NoError(t, err)
		require.NoError(t, w.Flush())
	}
	frames := w.Flushed()
	// Read the file as another process would, while w is still open.
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.EqualValues(t, 1<<20, len(b))
	require.Equal(t, frames, DataEnd(b, HeaderSize))
	require.NoError(t, w.Close(false))
}
