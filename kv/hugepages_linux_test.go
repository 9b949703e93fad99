package kv

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// TestSegmentsWrittenAreReadInHugePages: the segments a database wrote
// (sealed as it filled them, and the active one at Close) are in the page
// cache in huge pages once their hints are written, so that any mapping
// of them maps huge pages (see writeHint). Skipped where the machine
// gives a file no huge pages at all (see vfs.RecacheHuge).
func TestSegmentsWrittenAreReadInHugePages(t *testing.T) {
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	buf := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	require.NoError(t, os.WriteFile(probe, buf, 0o600))
	require.NoError(t, vfs.RecacheHuge(vfs.Default, probe))
	if n, err := vfs.HugeMapped(probe); err != nil || n == 0 {
		t.Skipf("no huge pages for a file here (%d bytes, %v)", n, err)
	}
	require.NoError(t, os.Remove(probe))

	db, err := Open(dir, &Options{SegmentSize: 4 << 20})
	require.NoError(t, err)
	batch := make([]KeyValue, 1000)
	for b := range 108 { // 108k values of 100 bytes: 2 segments sealed, a third of 3.8 MB closed
		for i := range batch {
			v := make([]byte, 100)
			for j := range v {
				v[j] = byte(r.Uint32())
			}
			batch[i] = KeyValue{Key: fmt.Sprintf("k%06d", b*len(batch)+i), Value: Bytes(v)}
		}
		_, err := db.MPut(DefaultRun, batch)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	segs := 0
	for _, e := range names {
		if _, ok := segment.ParseFileName(e.Name()); !ok {
			continue
		}
		info, err := e.Info()
		require.NoError(t, err)
		if info.Size() < 3<<20 {
			continue // the last may hold no whole huge page
		}
		n, err := vfs.HugeMapped(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		t.Logf("%s: %d bytes, %d in huge pages", e.Name(), info.Size(), n)
		require.GreaterOrEqual(t, n, int64(2<<20), "%s: no huge page", e.Name())
		segs++
	}
	require.Equal(t, 3, segs, "segments of 3 MiB or more: the 2 sealed and the active one")
}
