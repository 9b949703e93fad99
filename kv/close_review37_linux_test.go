package kv

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// readBytes is the bytes this process has had read from the block device
// (/proc/self/io).
func readBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/io")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "read_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no read_bytes")
	return 0
}

// TestReview37CloseReadsNothingFromDisk: the commit says the recache
// costs "one sequential read of the segment from disk, in the background
// goroutine". At Close it runs in the caller's goroutine instead: Close of
// a database whose active segment holds 40 MiB (all in the page cache)
// now drops that segment from the cache and reads it back from the disk
// before it returns. Before the commit Close read nothing from the disk.
func TestReview37CloseReadsNothingFromDisk(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, nil) // 64 MiB segments: no roll below
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(3, 7))
	v := make([]byte, 4096)
	batch := make([]KeyValue, 0, 256)
	for i := range 10240 { // 40 MiB
		for j := range v {
			v[j] = byte(r.Uint32())
		}
		batch = append(batch, KeyValue{Key: fmt.Sprintf("k%06d", i), Value: Bytes(append([]byte(nil), v...))})
		if len(batch) == cap(batch) {
			_, err := db.MPut(DefaultRun, batch)
			require.NoError(t, err)
			batch = batch[:0]
		}
	}
	before := readBytes(t)
	start := time.Now()
	require.NoError(t, db.Close())
	read := readBytes(t) - before
	t.Logf("Close took %v and read %d bytes from the disk", time.Since(start), read)
	require.Less(t, read, int64(1<<20), "Close read the active segment back from the disk in the caller's goroutine")
}
