package vfs

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReview37RecacheHugeTruncatedUnder: a file cut short while
// RecacheHuge reads it through its mapping is an error (or nothing), not a
// SIGBUS that kills the process.
func TestReview37RecacheHugeTruncatedUnder(t *testing.T) {
	dir := t.TempDir()
	fds := func() int { e, _ := os.ReadDir("/proc/self/fd"); return len(e) }
	maps := func() int {
		b, _ := os.ReadFile("/proc/self/maps")
		return strings.Count(string(b), dir)
	}
	fd0 := fds()
	errs := 0
	for i := range 12 {
		path, _ := writeDurable(t, dir, "seg", 32<<20)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%10) * 2 * time.Millisecond)
			require.NoError(t, os.Truncate(path, int64(i)*4096+17))
		}()
		if err := RecacheHuge(Default, path); err != nil {
			errs++
			t.Logf("run %d: %v", i, err)
		}
		wg.Wait()
		require.NoError(t, os.Remove(path))
	}
	t.Logf("%d of 12 runs faulted", errs)
	require.Equal(t, fd0, fds(), "descriptors left open")
	require.Zero(t, maps(), "mappings left")
	// and a missing directory entry, a directory, an empty file
	require.Error(t, RecacheHuge(Default, filepath.Join(dir, "gone")))
	require.NoError(t, RecacheHuge(Default, dir))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	require.NoError(t, RecacheHuge(Default, empty))
}

// TestReview37RecacheHugeWholeFile: a file of several 8 MiB windows (a
// segment of the default 64 MiB is eight) is in huge pages to its end,
// not only in its first window: the commit's tests use files of 4-6 MiB,
// which one window covers.
func TestReview37RecacheHugeWholeFile(t *testing.T) {
	noHuge.Clear() // what other tests' files taught it
	dir := t.TempDir()
	probe, _ := writeDurable(t, dir, "probe", 4<<20)
	if coldHuge(t, probe) == 0 {
		t.Skip("no huge pages for a file read back here")
	}
	path, data := writeDurable(t, dir, "seg", 26<<20+5)
	require.NoError(t, RecacheHuge(Default, path))
	after, err := HugeMapped(path)
	require.NoError(t, err)
	require.GreaterOrEqual(t, after, int64(24<<20), "huge pages to the file's last whole 2 MiB")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, data, got)
}
