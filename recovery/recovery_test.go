package recovery

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

const dir = "/db"

// writeSegments writes segments of framesPer frames each, versions counting
// from 1, one put of key k<version> per frame, and returns the frame end
// offsets of every segment.
func writeSegments(t *testing.T, fs vfs.FS, segments, framesPer int) [][]int64 {
	t.Helper()
	require.NoError(t, fs.MkdirAll(dir))
	v := uint64(0)
	var ends [][]int64
	for id := 1; id <= segments; id++ {
		w, err := segment.Create(fs, dir, uint32(id))
		require.NoError(t, err)
		var segEnds []int64
		for i := 0; i < framesPer; i++ {
			v++
			blob, _ := segment.AppendEntry(nil, segment.KindPut, "run", fmt.Sprintf("k%03d", v), fmt.Appendf(nil, "value %d", v), false)
			w.AppendFrame(v, int64(v)*1000, 1, blob)
			segEnds = append(segEnds, w.Size())
		}
		require.NoError(t, w.Close(true))
		ends = append(ends, segEnds)
	}
	return ends
}

func runRecovery(t *testing.T, fs vfs.FS, opts Options) (*index.Index, *Result, error) {
	t.Helper()
	ix := index.New()
	res, err := Recover(fs, dir, ix, opts)
	if res != nil {
		t.Cleanup(res.Close)
	}
	return ix, res, err
}

func segPath(id uint32) string { return filepath.Join(dir, segment.FileName(id)) }

func fileBytes(t *testing.T, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	require.NoError(t, err)
	defer f.Close()
	size, err := f.Size()
	require.NoError(t, err)
	b := make([]byte, size)
	_, err = f.ReadAt(b, 0)
	require.NoError(t, err)
	return b
}

func rewrite(t *testing.T, fs vfs.FS, path string, b []byte) {
	t.Helper()
	f, err := fs.Create(path)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestRecoverEmptyDir(t *testing.T) {
	fs := vfs.NewMem()
	require.NoError(t, fs.MkdirAll(dir))
	ix, res, err := runRecovery(t, fs, Options{})
	require.NoError(t, err)
	require.Zero(t, res.Active)
	require.Zero(t, res.LastVersion)
	keys, _, _, _ := ix.Counts()
	require.Zero(t, keys)
}

func TestRecoverRebuildsIndex(t *testing.T) {
	fs := vfs.NewMem()
	ends := writeSegments(t, fs, 3, 4)
	ix, res, err := runRecovery(t, fs, Options{})
	require.NoError(t, err)
	require.EqualValues(t, 12, res.LastVersion)
	require.EqualValues(t, 12000, res.LastTimestamp)
	require.Equal(t, 12, res.Frames)
	require.EqualValues(t, 3, res.Active)
	require.Equal(t, ends[2][3], res.ActiveSize)
	require.Len(t, res.Sealed, 2)
	require.Zero(t, res.TornBytes)

	keys, live, versions, _ := ix.Counts()
	require.EqualValues(t, 12, keys)
	require.EqualValues(t, 12, live)
	require.EqualValues(t, 12, versions)
	r, ok := ix.Get("run", "k005", 100)
	require.True(t, ok)
	require.EqualValues(t, 5, r.Version)
	require.EqualValues(t, 2, r.Segment)
	v, err := res.Sealed[1].Slice(r.Offset, int(r.Len))
	require.NoError(t, err)
	require.Equal(t, "value 5", string(v))
}

// Cutting the newest segment anywhere inside its last frame is a torn
// write: recovery truncates back to the previous frame, and a second
// recovery finds nothing more to do.
func TestTornTailTruncated(t *testing.T) {
	base := vfs.NewMem()
	ends := writeSegments(t, base, 2, 3)
	full := fileBytes(t, base, segPath(2))
	prevEnd := ends[1][1]
	for cut := prevEnd + 1; cut < int64(len(full)); cut++ {
		fs := base.CrashClone(1)
		rewrite(t, fs, segPath(2), full[:cut])
		ix, res, err := runRecovery(t, fs, Options{})
		require.NoError(t, err, "cut at %d", cut)
		require.EqualValues(t, 5, res.LastVersion)
		require.Equal(t, cut-prevEnd, res.TornBytes)
		require.Equal(t, prevEnd, res.ActiveSize)
		require.Len(t, fileBytes(t, fs, segPath(2)), int(prevEnd))
		_, ok := ix.Get("run", "k006", 100)
		require.False(t, ok)

		_, res2, err := runRecovery(t, fs, Options{})
		require.NoError(t, err)
		require.Zero(t, res2.TornBytes, "recovery is idempotent")
		require.EqualValues(t, 5, res2.LastVersion)
	}
}

func TestZeroedTailIsTorn(t *testing.T) {
	fs := vfs.NewMem()
	ends := writeSegments(t, fs, 1, 3)
	full := fileBytes(t, fs, segPath(1))
	rewrite(t, fs, segPath(1), append(full, make([]byte, 4096)...))
	_, res, err := runRecovery(t, fs, Options{})
	require.NoError(t, err)
	require.EqualValues(t, 3, res.LastVersion)
	require.Equal(t, ends[0][2], res.ActiveSize)
	require.EqualValues(t, 4096, res.TornBytes)
}

func TestReadOnlyLeavesTornTail(t *testing.T) {
	fs := vfs.NewMem()
	writeSegments(t, fs, 1, 3)
	full := fileBytes(t, fs, segPath(1))
	cut := full[:len(full)-3]
	rewrite(t, fs, segPath(1), cut)
	require.NoError(t, fs.MkdirAll(dir))
	rewrite(t, fs, segPath(9)+".tmp", []byte("x"))
	_, res, err := runRecovery(t, fs, Options{ReadOnly: true})
	require.NoError(t, err)
	require.EqualValues(t, 2, res.LastVersion)
	require.Len(t, res.Sealed, 1, "read-only maps the newest segment too")
	require.Zero(t, res.Active)
	require.Equal(t, cut, fileBytes(t, fs, segPath(1)), "nothing truncated")
	names, err := fs.List(dir)
	require.NoError(t, err)
	require.Contains(t, names, segment.FileName(9)+".tmp", "nothing removed")

	_, _, err = runRecovery(t, fs, Options{})
	require.NoError(t, err)
	names, err = fs.List(dir)
	require.NoError(t, err)
	require.NotContains(t, names, segment.FileName(9)+".tmp", "a writer removes unfinished segment files")
}

func corruptAt(t *testing.T, err error, path string, off int64) {
	t.Helper()
	require.ErrorIs(t, err, segment.ErrCorrupt)
	var ce *segment.CorruptError
	require.True(t, errors.As(err, &ce), "%v", err)
	require.Equal(t, path, ce.Path)
	require.Equal(t, off, ce.Offset)
	require.Contains(t, err.Error(), path)
}

func TestDamageIsCorruption(t *testing.T) {
	base := vfs.NewMem()
	ends := writeSegments(t, base, 2, 3)

	t.Run("bad frame followed by a good one in the newest segment", func(t *testing.T) {
		fs := base.CrashClone(1)
		b := fileBytes(t, fs, segPath(2))
		b[ends[1][0]+20] ^= 0xff // inside the second frame
		rewrite(t, fs, segPath(2), b)
		_, _, err := runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(2), ends[1][0])
	})
	t.Run("torn-looking tail of a sealed segment", func(t *testing.T) {
		fs := base.CrashClone(1)
		b := fileBytes(t, fs, segPath(1))
		rewrite(t, fs, segPath(1), b[:len(b)-1])
		_, _, err := runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(1), ends[0][1])
	})
	t.Run("bad header", func(t *testing.T) {
		fs := base.CrashClone(1)
		b := fileBytes(t, fs, segPath(1))
		b[3] ^= 1
		rewrite(t, fs, segPath(1), b)
		_, _, err := runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(1), 0)
	})
	t.Run("versions going backwards", func(t *testing.T) {
		fs := vfs.NewMem()
		require.NoError(t, fs.MkdirAll(dir))
		w, err := segment.Create(fs, dir, 1)
		require.NoError(t, err)
		blob, _ := segment.AppendEntry(nil, segment.KindPut, "r", "a", []byte("x"), false)
		w.AppendFrame(1, 1, 1, blob)
		second := w.AppendFrame(1, 2, 1, blob)
		w.AppendFrame(2, 3, 1, blob)
		require.NoError(t, w.Close(true))
		_, _, err = runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(1), second)
	})
	t.Run("a commit missing from the middle", func(t *testing.T) {
		fs := base.CrashClone(1)
		b := fileBytes(t, fs, segPath(2))
		// Cut out the second frame exactly: every frame left is intact.
		cut := append(append([]byte(nil), b[:ends[1][0]]...), b[ends[1][1]:]...)
		rewrite(t, fs, segPath(2), cut)
		_, _, err := runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(2), ends[1][0])
	})
	t.Run("a whole segment's commits missing", func(t *testing.T) {
		fs := base.CrashClone(1)
		first := fileBytes(t, fs, segPath(1))
		rewrite(t, fs, segPath(1), first[:segment.HeaderSize]) // a sealed segment emptied
		_, _, err := runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(2), segment.HeaderSize)
	})
	t.Run("same key twice in one frame", func(t *testing.T) {
		fs := vfs.NewMem()
		require.NoError(t, fs.MkdirAll(dir))
		w, err := segment.Create(fs, dir, 1)
		require.NoError(t, err)
		blob, _ := segment.AppendEntry(nil, segment.KindPut, "r", "a", []byte("x"), false)
		blob, _ = segment.AppendEntry(blob, segment.KindPut, "r", "a", []byte("y"), false)
		off := w.AppendFrame(1, 1, 2, blob)
		require.NoError(t, w.Close(true))
		_, _, err = runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(1), off)
	})
}

// Every single-byte flip of a directory is either detected as corruption
// or, when it hits the tail of the newest segment, truncated as a torn
// write; it never yields a value that was not written.
func TestEveryByteFlip(t *testing.T) {
	base := vfs.NewMem()
	writeSegments(t, base, 2, 2)
	for _, id := range []uint32{1, 2} {
		orig := fileBytes(t, base, segPath(id))
		for i := range orig {
			fs := base.CrashClone(1)
			b := append([]byte(nil), orig...)
			b[i] ^= 0x5a
			rewrite(t, fs, segPath(id), b)
			ix, res, err := runRecovery(t, fs, Options{ReadOnly: true})
			if err != nil {
				require.ErrorIs(t, err, segment.ErrCorrupt, "segment %d byte %d", id, i)
				continue
			}
			require.True(t, id == 2, "a flip in a sealed segment went unnoticed at byte %d", i)
			require.Less(t, res.LastVersion, uint64(4), "the damaged frame is dropped as torn")
			for it := ix.Seek("run", ""); it.Valid(); it.Next() {
				r, _ := it.Chain().Newest()
				seg := res.Sealed[r.Segment-1]
				v, err := seg.Slice(r.Offset, int(r.Len))
				require.NoError(t, err)
				require.Equal(t, fmt.Sprintf("value %d", r.Version), string(v))
			}
		}
	}
}
