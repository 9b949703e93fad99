package crash

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

// history is the committed history of a test directory: commit i (version
// i+1) wrote values to keys.
type history []map[string]kv.Value

// makeDir writes commits (puts and batches, some compressible) to a new
// directory and returns it with what was written.
func makeDir(t *testing.T, commits int, segSize int64) (string, history) {
	t.Helper()
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{Durability: kv.Strict, SegmentSize: segSize})
	require.NoError(t, err)
	var h history
	for i := 0; i < commits; i++ {
		w := map[string]kv.Value{fmt.Sprintf("k%d", i%3): kv.String(fmt.Sprintf("v%d %0*d", i, i*7, 0))}
		if i%2 == 1 {
			w[fmt.Sprintf("b%d", i%2)] = kv.Int(int64(i))
		}
		var batch []kv.KeyValue
		for k, v := range w {
			batch = append(batch, kv.KeyValue{Key: k, Value: v})
		}
		slices.SortFunc(batch, func(a, b kv.KeyValue) int { return compare(a.Key, b.Key) })
		v, err := db.MPut("r", batch)
		require.NoError(t, err)
		require.EqualValues(t, i+1, v)
		h = append(h, w)
	}
	require.NoError(t, db.Close())
	return dir, h
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func segmentsOf(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segment.Ext))
	require.NoError(t, err)
	slices.Sort(m)
	return m
}

// commitFrames returns the start and end offsets of the commit frames of
// a segment file (sync markers left out).
func commitFrames(t *testing.T, path string) (starts, ends []int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sc, err := segment.NewScanner(b)
	require.NoError(t, err)
	for {
		f, err := sc.Next()
		if err == io.EOF {
			return starts, ends
		}
		require.NoError(t, err)
		if !f.Marker() {
			starts, ends = append(starts, f.Offset), append(ends, f.Offset+int64(f.Size))
		}
	}
}

// checkPrefix asserts that db holds exactly commits 1..LastVersion of h and
// returns LastVersion. A read failing with ErrCorrupt is allowed; a wrong
// value never is.
func checkPrefix(t *testing.T, db *kv.DB, h history) int {
	t.Helper()
	last := int(db.LastVersion())
	require.LessOrEqual(t, last, len(h))
	want := map[string][]kv.Versioned{}
	for i, w := range h[:last] {
		for k, v := range w {
			want[k] = append([]kv.Versioned{{Value: v, Version: kv.Version(i + 1)}}, want[k]...)
		}
	}
	for _, k := range []string{"k0", "k1", "k2", "b1"} {
		got, err := db.History("r", k, 0, 0)
		if err != nil {
			require.ErrorIs(t, err, kv.ErrCorrupt)
			continue
		}
		require.Len(t, got, len(want[k]), "history of %s at version %d", k, last)
		for i := range got {
			require.Equal(t, want[k][i].Version, got[i].Version)
			require.True(t, want[k][i].Value.Equal(got[i].Value), "%s@%d: got %v, want %v", k, got[i].Version, got[i].Value, want[k][i].Value)
		}
	}
	return last
}

// Truncating the newest segment at every offset inside its last frames is
// a torn write: Open keeps exactly the complete frames before the cut.
func TestTornTailAtEveryOffset(t *testing.T) {
	src, h := makeDir(t, 12, 1<<20)
	segs := segmentsOf(t, src)
	require.Len(t, segs, 1)
	newest := filepath.Base(segs[0])
	full, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	starts, ends := commitFrames(t, segs[0])
	from := starts[len(starts)-3]
	cuts := 0
	for cut := from; cut < int64(len(full)); cut++ {
		dir := kvtest.CopyDir(t, src)
		require.NoError(t, os.Truncate(filepath.Join(dir, newest), cut))
		db, err := kv.Open(dir, nil)
		require.NoError(t, err, "cut at %d", cut)
		complete := 0 // commits wholly before the cut; the one it falls in is torn
		for _, e := range ends {
			if e <= cut {
				complete++
			}
		}
		require.Equal(t, complete, checkPrefix(t, db, h), "cut at %d", cut)
		_, err = db.Put("r", "after", kv.Int(1))
		require.NoError(t, err, "the truncated directory takes writes")
		require.NoError(t, db.Close())
		cuts++
	}
	t.Logf("%d truncation points in the last 3 frames, all recovered to the last whole frame", cuts)
}

// Flipping any byte of a small directory's segments is either detected
// (Open or the read fails with ErrCorrupt) or, for the last frame of the
// newest segment, taken for a torn write; it never yields a wrong value.
func TestEveryByteFlip(t *testing.T) {
	src, h := makeDir(t, 8, 300)
	segs := segmentsOf(t, src)
	require.GreaterOrEqual(t, len(segs), 2)
	detected, torn := 0, 0
	for si, path := range segs {
		orig, err := os.ReadFile(path)
		require.NoError(t, err)
		_, ends := commitFrames(t, path)
		marker := ends[len(ends)-1] // Close's sync marker follows the last commit
		for i := range orig {
			dir := kvtest.CopyDir(t, src)
			b := slices.Clone(orig)
			b[i] ^= 0xff
			require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(path)), b, 0o644))
			db, err := kv.Open(dir, &kv.Options{ReadOnly: true})
			if err != nil {
				require.True(t, errors.Is(err, kv.ErrCorrupt), "segment %d byte %d: %v", si, i, err)
				detected++
				continue
			}
			last := checkPrefix(t, db, h)
			require.NoError(t, db.Close())
			// The marker proves every commit was synced, so only a flip
			// in the marker itself can pass for a torn write, and it
			// loses nothing.
			require.True(t, si == len(segs)-1 && int64(i) >= marker, "segment %d byte %d: flip not noticed", si, i)
			require.Equal(t, len(h), last, "segment %d byte %d: commits lost without an error", si, i)
			torn++
		}
	}
	t.Logf("%d flips detected as corruption, %d in the closing sync marker taken for a torn write (no commit lost), none read wrong", detected, torn)
}
