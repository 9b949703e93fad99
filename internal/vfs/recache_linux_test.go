package vfs

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// writeDurable writes n random bytes to a new file in dir and fsyncs it,
// returning its path and contents: the pages the writes made are in the
// page cache, clean.
func writeDurable(t *testing.T, dir, name string, n int) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	var seed [32]byte
	seed[0] = byte(n)
	rand.NewChaCha8(seed).Read(data)
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	for off := 0; off < n; off += 64 << 10 { // small writes, as a segment's are
		_, err := f.Write(data[off:min(off+64<<10, n)])
		require.NoError(t, err)
	}
	require.NoError(t, f.Sync())
	return path, data
}

// TestRecacheHugeKeepsContents: RecacheHuge changes nothing a read
// returns, does nothing on other file systems or to a small file, and
// reports a missing file.
func TestRecacheHugeKeepsContents(t *testing.T) {
	dir := t.TempDir()
	path, data := writeDurable(t, dir, "seg", 5<<20+123)
	require.NoError(t, RecacheHuge(Default, path))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got), "contents changed")

	small, _ := writeDurable(t, dir, "small", 4096)
	require.NoError(t, RecacheHuge(Default, small))
	require.NoError(t, RecacheHuge(NewMem(), "/nowhere/at/all"), "Mem: nothing to do")
	require.Error(t, RecacheHuge(Default, filepath.Join(dir, "missing")))
}

// TestRecacheHugeMapsHugePages: a file written in small writes is held
// in small pages, and after RecacheHuge a mapping of it (made after, with
// no advice of its own) maps huge pages. Skipped where the kernel or the
// file system of the test's directory gives no huge pages to a file read
// from disk with that advice (before Linux 6.16 on ext4, tmpfs, THP off).
func TestRecacheHugeMapsHugePages(t *testing.T) {
	noHuge.Clear() // what other tests' files taught it
	dir := t.TempDir()
	probe, _ := writeDurable(t, dir, "probe", 4<<20)
	if huge := coldHuge(t, probe); huge == 0 {
		t.Skip("this kernel and file system give no huge pages to a file read back with MADV_HUGEPAGE")
	}
	path, data := writeDurable(t, dir, "seg", 6<<20)
	before, err := HugeMapped(path)
	require.NoError(t, err)
	if before != 0 {
		t.Skipf("written pages are already huge here (%d bytes): nothing to show", before)
	}
	require.NoError(t, RecacheHuge(Default, path))
	after, err := HugeMapped(path)
	require.NoError(t, err)
	t.Logf("huge pages mapped: %d bytes before, %d after", before, after)
	require.GreaterOrEqual(t, after, int64(4<<20), "after RecacheHuge the file's first 4 MiB are in huge pages")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got), "contents changed")
}

// coldHuge drops path from the page cache and reads it back through a
// mapping advised MADV_HUGEPAGE, by hand, returning how much of it that
// mapping held in huge pages: whether the machine can do what
// RecacheHuge asks at all.
func coldHuge(t *testing.T, path string) int64 {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	require.NoError(t, unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED))
	b, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	require.NoError(t, err)
	defer unix.Munmap(b)
	if unix.Madvise(b, unix.MADV_HUGEPAGE) != nil {
		return 0
	}
	touchPages(b)
	v, err := smapsFields(uintptr(unsafe.Pointer(&b[0])), "FilePmdMapped:")
	require.NoError(t, err)
	return v[0]
}

// TestRecacheHugeRemembersNoHuge: a device whose file got no huge page
// is left alone for noHugeFor (its files are not dropped from the cache
// for nothing), and tried again after it; a success forgets it.
func TestRecacheHugeRemembersNoHuge(t *testing.T) {
	noHuge.Clear()
	t.Cleanup(noHuge.Clear)
	dir := t.TempDir()
	probe, _ := writeDurable(t, dir, "probe", 4<<20)
	if coldHuge(t, probe) == 0 {
		t.Skip("no huge pages for a file read back here")
	}
	path, _ := writeDurable(t, dir, "seg", 4<<20)
	st, err := os.Stat(path)
	require.NoError(t, err)
	dev := uint64(st.Sys().(*syscall.Stat_t).Dev)

	noHuge.Store(dev, time.Now())
	require.NoError(t, RecacheHuge(Default, path))
	n, err := HugeMapped(path)
	require.NoError(t, err)
	require.Zero(t, n, "a device known to give no huge pages was recached")

	noHuge.Store(dev, time.Now().Add(-noHugeFor-time.Minute))
	require.NoError(t, RecacheHuge(Default, path))
	n, err = HugeMapped(path)
	require.NoError(t, err)
	require.NotZero(t, n, "tried again after noHugeFor")
	_, known := noHuge.Load(dev)
	require.False(t, known, "a success forgets the device")
}
