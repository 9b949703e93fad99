package kv

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// requireHugePagesHere skips the test unless a durable file written in
// small writes, in dir, is not in huge pages and is after
// vfs.RecacheHuge: the machine (kernel, file system, THP setting) can
// show what the test asks of the database. (A probe written in one large
// write may be in huge pages already on a large-folio file system, and
// one not synced cannot be dropped from the cache.)
func requireHugePagesHere(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "probe")
	f, err := os.Create(path)
	require.NoError(t, err)
	buf := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for range 64 { // 4 MiB in writes of 64 KiB, as a segment's are
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		_, err := f.Write(buf)
		require.NoError(t, err)
	}
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	defer os.Remove(path)
	if n, err := vfs.HugeMapped(path); err != nil || n != 0 {
		t.Skipf("small writes here give %d bytes of huge pages (%v): nothing to show", n, err)
	}
	require.NoError(t, vfs.RecacheHuge(vfs.Default, path))
	if n, err := vfs.HugeMapped(path); err != nil || n == 0 {
		t.Skipf("no huge pages for a file read back here (%d bytes, %v)", n, err)
	}
}

// fillHuge writes a random 100-byte value to each key k<id> of ids, in
// commits of 1000.
func fillHuge(t *testing.T, db *DB, r *rand.Rand, ids []int) {
	t.Helper()
	for len(ids) > 0 {
		batch := make([]KeyValue, min(1000, len(ids)))
		for i := range batch {
			v := make([]byte, 100)
			for j := range v {
				v[j] = byte(r.Uint32())
			}
			batch[i] = KeyValue{Key: fmt.Sprintf("k%06d", ids[i]), Value: Bytes(v)}
		}
		ids = ids[len(batch):]
		_, err := db.MPut(DefaultRun, batch)
		require.NoError(t, err)
	}
}

// requireSealedHuge fails unless each sealed segment of db of 3 MiB or
// more (a smaller one may hold no whole huge page) is mapped in huge
// pages, and returns how many it checked.
func requireSealedHuge(t *testing.T, db *DB) int {
	t.Helper()
	n := 0
	for _, s := range db.segs.Load().sealed {
		size := len(s.Bytes())
		if size < 3<<20 {
			continue
		}
		huge, err := vfs.HugeMapped(s.Path())
		require.NoError(t, err)
		t.Logf("%s: %d bytes, %d in huge pages", filepath.Base(s.Path()), size, huge)
		require.GreaterOrEqual(t, huge, int64(2<<20), "%s: no huge page", s.Path())
		n++
	}
	return n
}

// TestSegmentsWrittenAreReadInHugePages: the segments a database sealed,
// and a compaction's outputs, are in the page cache in huge pages after
// the background goroutine's next look (recacheWritten), so that any
// mapping of them maps huge pages. Skipped where the machine gives a
// file no huge pages (see vfs.RecacheHuge).
func TestSegmentsWrittenAreReadInHugePages(t *testing.T) {
	dir := t.TempDir()
	requireHugePagesHere(t, dir)
	db, err := Open(dir, &Options{SegmentSize: 4 << 20, Retention: Retention{KeepVersions: 1}})
	require.NoError(t, err)
	defer db.Close()
	holdBackground(db) // the looks below are the test's
	defer func() { <-db.compact.sem }()
	r := rand.New(rand.NewPCG(3, 4))
	var all, even []int
	for i := range 80000 {
		all = append(all, i)
		if i%2 == 0 {
			even = append(even, i)
		}
	}
	fillHuge(t, db, r, all) // 80k values of 100 bytes: 2 segments sealed
	db.backgroundPass()
	require.Equal(t, 2, requireSealedHuge(t, db), "sealed segments checked")

	// Half the keys again: the first segments are half dead, and the next
	// look compacts them into an output of their live halves, which the
	// look after reads back in huge pages.
	fillHuge(t, db, r, even)
	db.backgroundPass()
	db.backgroundPass()
	outputs := 0
	for _, s := range db.segs.Load().sealed {
		if s.Header().Compacted() && len(s.Bytes()) >= 3<<20 {
			outputs++
		}
	}
	require.Equal(t, 1, outputs, "a compaction's output of 3 MiB or more")
	require.Nil(t, db.segs.Load().sealed[1], "segment 1 compacted")
	requireSealedHuge(t, db)
}

// With Options.NoHugePageRecache the background goroutine's look reads
// no segment back: the sealed segments stay in the small pages their
// writes made (where the machine would give huge ones, which
// requireHugePagesHere checks).
func TestNoHugePageRecacheLeavesSegmentsAlone(t *testing.T) {
	dir := t.TempDir()
	requireHugePagesHere(t, dir)
	db, err := Open(dir, &Options{SegmentSize: 4 << 20, NoHugePageRecache: true})
	require.NoError(t, err)
	defer db.Close()
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	ids := make([]int, 80000)
	for i := range ids {
		ids[i] = i
	}
	fillHuge(t, db, rand.New(rand.NewPCG(5, 6)), ids) // 2 segments sealed
	db.backgroundPass()
	checked := 0
	for _, s := range db.segs.Load().sealed {
		if len(s.Bytes()) < 3<<20 {
			continue
		}
		huge, err := vfs.HugeMapped(s.Path())
		require.NoError(t, err)
		require.Zero(t, huge, "%s read back in huge pages", s.Path())
		checked++
	}
	require.Equal(t, 2, checked, "sealed segments checked")
	require.Empty(t, db.set.uncached, "the look emptied the list")
}
