package recovery

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

const dir = "/db"

// how the newest segment of a test directory ends.
type ending int

const (
	closed   ending = iota // synced after every frame, closed with a sync marker
	strict                 // synced after every frame, then a crash (no marker)
	buffered               // never synced after its header, then a crash
)

// writeSegments writes segments of framesPer frames each, versions
// counting from 1, one put of key k<version> per frame, every segment but
// the newest synced and sealed, and returns the frame end offsets of
// every segment.
func writeSegments(t *testing.T, fs vfs.FS, segments, framesPer int, end ending) [][]int64 {
	t.Helper()
	require.NoError(t, fs.MkdirAll(dir))
	v := uint64(0)
	var ends [][]int64
	for id := 1; id <= segments; id++ {
		newest := id == segments
		w, err := segment.Create(fs, dir, uint32(id), v+1, int64(v)*1000)
		require.NoError(t, err)
		var segEnds []int64
		for i := 0; i < framesPer; i++ {
			v++
			_, _, err := w.AppendCommit(v, int64(v)*1000, []segment.EntrySpec{{Op: segment.OpPut, Run: "run",
				Key: fmt.Sprintf("k%03d", v), Value: fmt.Appendf(nil, "value %d", v)}}, nil)
			require.NoError(t, err)
			require.NoError(t, w.Flush())
			if !newest || end != buffered {
				require.NoError(t, w.Sync())
			}
			segEnds = append(segEnds, w.Size())
		}
		require.NoError(t, w.Close(newest && end == closed))
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
	b, err := vfs.ReadFile(fs, path)
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
	require.EqualValues(t, 1, res.NextID)
	require.Zero(t, res.LastVersion)
	keys, _, _ := ix.Counts()
	require.Zero(t, keys)
}

func TestRecoverRebuildsIndex(t *testing.T) {
	fs := vfs.NewMem()
	writeSegments(t, fs, 3, 4, closed)
	ix, res, err := runRecovery(t, fs, Options{})
	require.NoError(t, err)
	require.EqualValues(t, 12, res.LastVersion)
	require.EqualValues(t, 12000, res.LastTimestamp)
	require.Equal(t, 12, res.Frames, "the sync marker is no commit")
	require.EqualValues(t, 4, res.NextID, "new commits go to a new segment")
	require.Len(t, res.Sealed, 3)
	require.Zero(t, res.TornBytes)

	keys, live, versions := ix.Counts()
	require.EqualValues(t, 12, keys)
	require.EqualValues(t, 12, live)
	require.EqualValues(t, 12, versions)
	r, ok := ix.Get("run", "k005", 100)
	require.True(t, ok)
	require.EqualValues(t, 5, r.Version)
	require.EqualValues(t, 2, r.Segment)
	v, err := res.Sealed[1].Value(r.Field)
	require.NoError(t, err)
	require.Equal(t, "value 5", string(v))
}

// Cutting the newest segment anywhere inside its last frame is a torn
// write: recovery cuts back to the previous frame, and a second recovery
// finds nothing more to do.
func TestTornTailTruncated(t *testing.T) {
	for _, end := range []ending{strict, buffered} {
		base := vfs.NewMem()
		ends := writeSegments(t, base, 2, 3, end)
		full := fileBytes(t, base, segPath(2))
		prevEnd := ends[1][1]
		for cut := prevEnd + 1; cut < int64(len(full)); cut++ {
			fs := base.CrashClone(1)
			rewrite(t, fs, segPath(2), full[:cut])
			ix, res, err := runRecovery(t, fs, Options{})
			require.NoError(t, err, "cut at %d", cut)
			require.EqualValues(t, 5, res.LastVersion)
			// Zeros that end the cut frame count as unused, not torn.
			require.Equal(t, cut-prevEnd, res.TornBytes+res.UnusedBytes)
			require.Equal(t, full[cut-1] == 0, res.UnusedBytes > 0)
			if res.TornBytes > 0 {
				require.Equal(t, segPath(2), res.TornFile)
			}
			require.EqualValues(t, 3, res.NextID)
			require.Len(t, res.Sealed, 2)
			require.Len(t, fileBytes(t, fs, segPath(2)), int(prevEnd))
			_, ok := ix.Get("run", "k006", 100)
			require.False(t, ok)

			_, res2, err := runRecovery(t, fs, Options{})
			require.NoError(t, err)
			require.Zero(t, res2.TornBytes, "recovery is idempotent")
			require.EqualValues(t, 5, res2.LastVersion)
		}
	}
}

// Zeros after the last frame are cut as unused space (what a writer that
// reserves space ahead leaves at a crash), not counted as torn bytes;
// torn bytes before them are.
func TestZeroedTailIsCutAsUnused(t *testing.T) {
	fs := vfs.NewMem()
	ends := writeSegments(t, fs, 1, 3, strict)
	full := fileBytes(t, fs, segPath(1))
	rewrite(t, fs, segPath(1), append(full, make([]byte, 4096)...))
	_, res, err := runRecovery(t, fs, Options{})
	require.NoError(t, err)
	require.EqualValues(t, 3, res.LastVersion)
	require.Len(t, fileBytes(t, fs, segPath(1)), int(ends[0][2]))
	require.Zero(t, res.TornBytes)
	require.Empty(t, res.TornFile)
	require.EqualValues(t, 4096, res.UnusedBytes)

	// Garbage then zeros: the garbage is torn, the zeros unused.
	for _, junk := range [][]byte{{7}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, make([]byte, 17)} {
		junk[len(junk)-1] = 0xAB
		fs := vfs.NewMem()
		ends := writeSegments(t, fs, 1, 3, strict)
		b := append(fileBytes(t, fs, segPath(1)), junk...)
		b = append(b, make([]byte, 1000)...)
		rewrite(t, fs, segPath(1), b)
		_, res, err := runRecovery(t, fs, Options{})
		require.NoError(t, err)
		require.Len(t, fileBytes(t, fs, segPath(1)), int(ends[0][2]))
		require.EqualValues(t, len(junk), res.TornBytes)
		require.EqualValues(t, 1000, res.UnusedBytes)
		require.Equal(t, segPath(1), res.TornFile)
	}
}

func TestDataEnd(t *testing.T) {
	dataEnd := segment.DataEnd
	for n := 0; n < 40; n++ {
		for last := -1; last < n; last++ {
			for from := 0; from <= n; from++ {
				b := make([]byte, n)
				if last >= 0 {
					b[last] = 1
				}
				want := int64(max(last+1, from))
				require.Equal(t, want, dataEnd(b, int64(from)), "n %d last %d from %d", n, last, from)
			}
		}
	}
}

// Damage with intact frames after it is a torn tail when nothing shows
// the damaged bytes were synced (a power loss that kept a later page but
// not an earlier one), and corruption when a later frame shows they were.
func TestHoleTornOrCorruptBySyncedOffset(t *testing.T) {
	for _, tc := range []struct {
		end  ending
		torn bool
	}{{buffered, true}, {strict, false}, {closed, false}} {
		base := vfs.NewMem()
		ends := writeSegments(t, base, 1, 6, tc.end)
		fs := base.CrashClone(1)
		b := fileBytes(t, fs, segPath(1))
		clear(b[ends[0][1]:ends[0][2]]) // a hole over version 3
		rewrite(t, fs, segPath(1), b)
		_, res, err := runRecovery(t, fs, Options{})
		if tc.torn {
			require.NoError(t, err)
			require.EqualValues(t, 2, res.LastVersion)
			// Torn up to the last byte not zero: frame 6's checksum ends in
			// a zero byte for one salt in 256, counted as unused.
			torn := segment.DataEnd(b, ends[0][1]) - ends[0][1]
			require.Greater(t, torn, ends[0][5]-ends[0][1]-4)
			require.Equal(t, torn, res.TornBytes)
			require.EqualValues(t, int64(len(b))-ends[0][1]-torn, res.UnusedBytes)
		} else {
			corruptAt(t, err, segPath(1), ends[0][1])
			require.Contains(t, err.Error(), "fsynced")
		}
	}
	// The sync marker of a clean Close proves even the last commit.
	base := vfs.NewMem()
	ends := writeSegments(t, base, 1, 3, closed)
	fs := base.CrashClone(1)
	b := fileBytes(t, fs, segPath(1))
	b[ends[0][2]-2] ^= 1 // the last commit's checksum
	rewrite(t, fs, segPath(1), b)
	_, _, err := runRecovery(t, fs, Options{})
	corruptAt(t, err, segPath(1), ends[0][1])
}

func TestReadOnlyLeavesTornTail(t *testing.T) {
	fs := vfs.NewMem()
	ends := writeSegments(t, fs, 1, 3, strict)
	full := fileBytes(t, fs, segPath(1))
	cut := full[:len(full)-3]
	rewrite(t, fs, segPath(1), cut)
	rewrite(t, fs, segPath(9)+".tmp", []byte("x"))
	_, res, err := runRecovery(t, fs, Options{ReadOnly: true})
	require.NoError(t, err)
	require.EqualValues(t, 2, res.LastVersion)
	require.Len(t, res.Sealed, 1, "read-only maps the newest segment too")
	// (Zeros that end the cut frame count as unused space, not torn
	// bytes: the last byte left is zero once in 256 salts.)
	require.Equal(t, int64(len(cut))-ends[0][1], res.TornBytes+res.UnusedBytes, "reported, though not cut")
	require.Positive(t, res.TornBytes)
	require.Equal(t, cut, fileBytes(t, fs, segPath(1)), "nothing cut")
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
	require.Equal(t, path, ce.File)
	require.Equal(t, off, ce.Offset)
	require.Contains(t, err.Error(), path)
}

func TestDamageIsCorruption(t *testing.T) {
	base := vfs.NewMem()
	ends := writeSegments(t, base, 2, 3, buffered)

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
		b[20] ^= 1
		rewrite(t, fs, segPath(1), b)
		_, _, err := runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(1), 0)
	})
	t.Run("a commit cut out of the newest segment", func(t *testing.T) {
		fs := base.CrashClone(1)
		b := fileBytes(t, fs, segPath(2))
		// Cut out the second frame exactly: every frame left is intact,
		// and none of the newest segment's frames was synced.
		cut := append(append([]byte(nil), b[:ends[1][0]]...), b[ends[1][1]:]...)
		rewrite(t, fs, segPath(2), cut)
		_, _, err := runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(2), ends[1][0])
		require.ErrorIs(t, err, segment.ErrSequence)
	})
	t.Run("a commit repeated", func(t *testing.T) {
		fs := base.CrashClone(1)
		b := fileBytes(t, fs, segPath(2))
		dup := append(append([]byte(nil), b[:ends[1][1]]...), b[ends[1][0]:]...)
		rewrite(t, fs, segPath(2), dup)
		_, _, err := runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(2), ends[1][1])
	})
	t.Run("a segment missing", func(t *testing.T) {
		fs := base.CrashClone(1)
		require.NoError(t, fs.Remove(segPath(1)))
		_, _, err := runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(2), 0)
		require.Contains(t, err.Error(), "missing")
	})
	t.Run("a sealed segment's commits missing", func(t *testing.T) {
		fs := base.CrashClone(1)
		first := fileBytes(t, fs, segPath(1))
		rewrite(t, fs, segPath(1), first[:segment.HeaderSize]) // emptied
		_, _, err := runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(2), 0)
	})
	t.Run("an older format", func(t *testing.T) {
		fs := base.CrashClone(1)
		v1 := make([]byte, 32) // a version-1 header: magic, version, id, reserved, xxhash64
		copy(v1, segment.Magic)
		binary.LittleEndian.PutUint32(v1[8:], 1)
		binary.LittleEndian.PutUint32(v1[12:], 1)
		binary.LittleEndian.PutUint64(v1[24:], xxhash.Sum64(v1[:24]))
		rewrite(t, fs, segPath(1), v1)
		_, _, err := runRecovery(t, fs, Options{Salvage: true})
		require.ErrorIs(t, err, segment.ErrOldFormat)
		require.NotErrorIs(t, err, segment.ErrCorrupt, "an old format is not damage")
		require.Contains(t, err.Error(), "format version 1")
	})
}

// Salvage opens at the newest version whose commits are all intact,
// moves the damaged segment and every later one aside, keeps the intact
// prefix under the damaged segment's name, and deletes nothing.
func TestSalvage(t *testing.T) {
	now := func() time.Time { return time.Unix(1700000000, 0) }
	base := vfs.NewMem()
	ends := writeSegments(t, base, 3, 4, closed)
	damage := func(t *testing.T, id uint32, at int64) vfs.FS {
		fs := base.CrashClone(1)
		b := fileBytes(t, fs, segPath(id))
		b[at] ^= 0x20
		rewrite(t, fs, segPath(id), b)
		return fs
	}
	t.Run("a frame in a sealed segment", func(t *testing.T) {
		fs := damage(t, 2, ends[1][1]+3) // version 7
		ix, res, err := runRecovery(t, fs, Options{Salvage: true, Now: now})
		require.NoError(t, err)
		require.EqualValues(t, 6, res.LastVersion)
		require.EqualValues(t, 6, res.SalvagedAt)
		require.Equal(t, segPath(2), res.Damage.File)
		require.Equal(t, ends[1][1], res.Damage.Offset)
		require.Equal(t, []string{segPath(2) + ".damaged-1700000000", segPath(3) + ".damaged-1700000000"}, res.MovedAside)
		require.EqualValues(t, 3, res.NextID, "new commits go to a new segment 3")
		require.Len(t, res.Sealed, 2, "segment 1 and the intact part of segment 2")
		_, ok := ix.Get("run", "k007", 100)
		require.False(t, ok)
		_, ok = ix.Get("run", "k006", 100)
		require.True(t, ok)
		names, err := fs.List(dir)
		require.NoError(t, err)
		require.Equal(t, []string{segment.HintName(1), segment.FileName(1), segment.HintName(2), segment.FileName(2),
			segment.FileName(2) + ".damaged-1700000000", segment.FileName(3) + ".damaged-1700000000"}, names,
			"the hints of what is kept were written; none of what went aside")
		// The kept prefix is byte for byte the original's.
		require.Equal(t, fileBytes(t, fs, segPath(2)+".damaged-1700000000")[:ends[1][1]], fileBytes(t, fs, segPath(2)))

		// A second recovery finds a consistent directory.
		_, res2, err := runRecovery(t, fs, Options{Salvage: true, Now: now})
		require.NoError(t, err)
		require.Nil(t, res2.Damage)
		require.EqualValues(t, 6, res2.LastVersion)
	})
	t.Run("a bad header", func(t *testing.T) {
		fs := damage(t, 3, 20)
		_, res, err := runRecovery(t, fs, Options{Salvage: true, Now: now})
		require.NoError(t, err)
		require.EqualValues(t, 8, res.SalvagedAt)
		require.EqualValues(t, 3, res.NextID, "a new segment 3 takes its place")
		require.Equal(t, []string{segPath(3) + ".damaged-1700000000"}, res.MovedAside)
	})
	t.Run("read-only moves nothing", func(t *testing.T) {
		fs := damage(t, 2, ends[1][1]+3)
		ix, res, err := runRecovery(t, fs, Options{Salvage: true, ReadOnly: true, Now: now})
		require.NoError(t, err)
		require.EqualValues(t, 6, res.SalvagedAt)
		require.Empty(t, res.MovedAside)
		require.Equal(t, []string{segPath(2), segPath(3)}, res.Damaged)
		r, ok := ix.Get("run", "k006", 100)
		require.True(t, ok)
		v, err := res.Sealed[1].Value(r.Field)
		require.NoError(t, err)
		require.Equal(t, "value 6", string(v))
		names, err := fs.List(dir)
		require.NoError(t, err)
		require.Len(t, names, 3)
	})
	t.Run("strict fails", func(t *testing.T) {
		fs := damage(t, 2, ends[1][1]+3)
		_, _, err := runRecovery(t, fs, Options{})
		corruptAt(t, err, segPath(2), ends[1][1])
	})
}

// Every single-byte flip of a directory is either detected as corruption
// or, when it hits the unsynced tail of the newest segment, cut as a torn
// write; it never yields a value that was not written.
func TestEveryByteFlip(t *testing.T) {
	for _, end := range []ending{closed, strict, buffered} {
		base := vfs.NewMem()
		ends := writeSegments(t, base, 2, 2, end)
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
				inMarker := end == closed && int64(i) >= ends[1][1] // Close's sync marker, after the last commit
				require.True(t, id == 2 && (end != closed || inMarker), "end %d: a flip in segment %d went unnoticed at byte %d", end, id, i)
				if inMarker {
					require.EqualValues(t, 4, res.LastVersion, "a damaged marker loses no commit")
				} else {
					require.Less(t, res.LastVersion, uint64(4), "the damaged frame is dropped as torn")
				}
				for it := ix.Seek("run", ""); it.Valid(); it.Next() {
					r, _ := it.Chain().Newest()
					seg := res.Sealed[r.Segment-1]
					v, err := seg.Value(r.Field)
					require.NoError(t, err)
					require.Equal(t, fmt.Sprintf("value %d", r.Version), string(v))
				}
			}
		}
	}
}
