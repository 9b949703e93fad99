package segment

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

type testEntry struct {
	kind     uint8
	run, key string
	value    []byte
}

func buildFrame(t testing.TB, version uint64, ts int64, entries []testEntry, compress bool) ([]byte, []EntryRef) {
	var blob []byte
	var refs []EntryRef
	for _, e := range entries {
		var ref EntryRef
		blob, ref = AppendEntry(blob, e.kind, e.run, e.key, e.value, compress)
		refs = append(refs, ref)
	}
	return AppendFrame(nil, version, ts, len(entries), blob), refs
}

func TestHeaderRoundTrip(t *testing.T) {
	h := EncodeHeader(42)
	require.Len(t, h, HeaderSize)
	id, err := DecodeHeader(h)
	require.NoError(t, err)
	require.EqualValues(t, 42, id)
	for i := range h {
		bad := bytes.Clone(h)
		bad[i] ^= 0x40
		_, err := DecodeHeader(bad)
		require.ErrorIs(t, err, ErrBadHeader, "flipped byte %d", i)
	}
	_, err = DecodeHeader(h[:HeaderSize-1])
	require.ErrorIs(t, err, ErrBadHeader)
}

func TestFrameRoundTrip(t *testing.T) {
	big := []byte(strings.Repeat(`{"step":17,"note":"the same words again"}`, 50))
	tests := []struct {
		name    string
		entries []testEntry
	}{
		{"one put", []testEntry{{KindPut, "r", "k", []byte("v")}}},
		{"empty value", []testEntry{{KindPut, "r", "k", []byte{}}}},
		{"tombstone", []testEntry{{KindTombstone, "run", "key", nil}}},
		{"batch", []testEntry{{KindPut, "r", "a", []byte("1")}, {KindTombstone, "r", "b", nil}, {KindPut, "r2", "c", big}}},
		{"max lengths", []testEntry{{KindPut, strings.Repeat("r", MaxRunLen), strings.Repeat("k", MaxKeyLen), []byte("x")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, compress := range []bool{false, true} {
				b, refs := buildFrame(t, 7, 1234567, tc.entries, compress)
				f, err := DecodeFrame(b)
				require.NoError(t, err)
				require.EqualValues(t, 7, f.Version)
				require.EqualValues(t, 1234567, f.Timestamp)
				require.Equal(t, len(b), f.Size)
				require.Equal(t, len(tc.entries), f.Count)
				i := 0
				require.NoError(t, f.Entries(func(e Entry) error {
					want := tc.entries[i]
					require.Equal(t, want.kind, e.Kind)
					require.Equal(t, want.run, string(e.Run))
					require.Equal(t, want.key, string(e.Key))
					require.Equal(t, refs[i].Offset+EntriesOffset, e.ValueOffset)
					require.Equal(t, b[e.ValueOffset:e.ValueOffset+len(e.Value)], e.Value)
					v, err := DecodeValue(e.Codec, e.Value)
					require.NoError(t, err)
					if want.kind == KindPut {
						require.Equal(t, string(want.value), string(v))
					}
					i++
					return nil
				}))
				require.Equal(t, len(tc.entries), i)
			}
		})
	}
}

func TestCompressionOnlyWhenItPays(t *testing.T) {
	_, ref := AppendEntry(nil, KindPut, "r", "k", []byte(strings.Repeat("a", 1000)), true)
	require.Equal(t, CodecS2, ref.Codec)
	require.Less(t, ref.Len, 100)

	random := make([]byte, 1000)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	_, ref = AppendEntry(nil, KindPut, "r", "k", random, true)
	require.Equal(t, CodecRaw, ref.Codec, "incompressible values are stored raw")
	_, ref = AppendEntry(nil, KindPut, "r", "k", []byte("short"), true)
	require.Equal(t, CodecRaw, ref.Codec, "short values are never compressed")
	_, ref = AppendEntry(nil, KindPut, "r", "k", []byte(strings.Repeat("a", 1000)), false)
	require.Equal(t, CodecRaw, ref.Codec)
}

// Every single-byte change of a frame must be detected, and every
// truncation reported as truncated.
func TestFrameDamageDetected(t *testing.T) {
	b, _ := buildFrame(t, 9, 99, []testEntry{{KindPut, "r", "key", []byte("value")}, {KindTombstone, "r", "gone", nil}}, false)
	for i := range b {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(b)
			bad[i] ^= mask
			_, err := DecodeFrame(bad)
			require.Error(t, err, "byte %d ^ %#x accepted", i, mask)
		}
	}
	for n := 0; n < len(b); n++ {
		_, err := DecodeFrame(b[:n])
		require.Error(t, err)
		if n >= FrameHeaderSize {
			require.ErrorIs(t, err, ErrTruncated, "cut at %d", n)
		}
	}
	// Extra bytes after a frame are not part of it.
	f, err := DecodeFrame(append(bytes.Clone(b), 0, 0, 0))
	require.NoError(t, err)
	require.Equal(t, len(b), f.Size)
}

func TestDecodeRejectsNonCanonical(t *testing.T) {
	b, _ := buildFrame(t, 1, 1, []testEntry{{KindPut, "r", "k", []byte("v")}}, false)
	mutate := func(off int, v byte) []byte {
		c := bytes.Clone(b)
		c[off] = v
		sum := frameChecksum(c[:4], c[FrameHeaderSize:])
		for i := 0; i < 8; i++ {
			c[4+i] = byte(sum >> (8 * i))
		}
		return c
	}
	entry := EntriesOffset
	cases := map[string][]byte{
		"kind 0":             mutate(entry, 0),
		"kind 3":             mutate(entry, 3),
		"codec 2":            mutate(entry+1, 2),
		"tombstone w/ value": mutate(entry, KindTombstone),
		"version 0":          mutate(FrameHeaderSize, 0),
		"count 2":            mutate(FrameHeaderSize+16, 2),
		"count 0":            mutate(FrameHeaderSize+16, 0),
		"run len 0":          mutate(entry+2, 0),
	}
	for name, c := range cases {
		_, err := DecodeFrame(c)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
}

func TestFindValidFrame(t *testing.T) {
	a, _ := buildFrame(t, 1, 1, []testEntry{{KindPut, "r", "a", []byte("1")}}, false)
	c, _ := buildFrame(t, 2, 2, []testEntry{{KindPut, "r", "b", []byte("2")}}, false)
	data := append(bytes.Clone(a), c...)
	off, ok := FindValidFrame(data, 1)
	require.True(t, ok)
	require.Equal(t, len(a), off)
	_, ok = FindValidFrame(data, len(a)+1)
	require.False(t, ok)
	_, ok = FindValidFrame(make([]byte, 4096), 0)
	require.False(t, ok, "zeroes hold no frame")
}

func TestDecodeValueBounds(t *testing.T) {
	_, err := DecodeValue(CodecS2, []byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	require.ErrorIs(t, err, ErrMalformed)
	_, err = DecodeValue(CodecS2, []byte{5, 0})
	require.ErrorIs(t, err, ErrMalformed)
	_, err = DecodeValue(7, nil)
	require.ErrorIs(t, err, ErrMalformed)
}

func TestFileNames(t *testing.T) {
	require.Equal(t, "0000000007.seg", FileName(7))
	id, ok := ParseFileName(FileName(4294967295))
	require.True(t, ok)
	require.EqualValues(t, 4294967295, id)
	for _, bad := range []string{"0000000007.seg.tmp", "7.seg", "0000000000.seg", "abcdefghij.seg", "LOCK"} {
		_, ok := ParseFileName(bad)
		require.False(t, ok, bad)
	}
}

func TestWriterAndSealed(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) (vfs.FS, string){
		"os": func(t *testing.T) (vfs.FS, string) { return vfs.Default, t.TempDir() },
		"mem": func(t *testing.T) (vfs.FS, string) {
			m := vfs.NewMem()
			require.NoError(t, m.MkdirAll("/d"))
			return m, "/d"
		},
	} {
		t.Run(name, func(t *testing.T) {
			fs, dir := mk(t)
			w, err := Create(fs, dir, 3)
			require.NoError(t, err)
			require.EqualValues(t, HeaderSize, w.Size())

			blob, ref := AppendEntry(nil, KindPut, "r", "k", []byte("hello"), false)
			off := w.AppendFrame(1, 10, 1, blob)
			require.EqualValues(t, HeaderSize, off)
			// Buffered frames are readable by the appender before Flush.
			got, err := w.ReadAt(off+int64(EntriesOffset+ref.Offset), ref.Len)
			require.NoError(t, err)
			require.Equal(t, "hello", string(got))
			require.NoError(t, w.Flush())
			got, err = w.ReadAt(off+int64(EntriesOffset+ref.Offset), ref.Len)
			require.NoError(t, err)
			require.Equal(t, "hello", string(got))
			_, err = w.ReadAt(w.Size()-2, 5)
			require.Error(t, err)
			require.NoError(t, w.Sync())
			size := w.Size()
			require.NoError(t, w.Close(true))
			require.NoError(t, w.Sync(), "Sync after Close is a no-op")

			s, err := OpenSealed(fs, filepath.Join(dir, FileName(3)))
			require.NoError(t, err)
			defer s.Close()
			require.EqualValues(t, 3, s.ID())
			require.EqualValues(t, size, len(s.Bytes()))
			v, err := s.Slice(off+int64(EntriesOffset+ref.Offset), ref.Len)
			require.NoError(t, err)
			require.Equal(t, "hello", string(v))
			for _, bad := range [][2]int64{{0, 1}, {size, 1}, {size - 1, 2}, {-5, 1}, {HeaderSize, -1}} {
				_, err := s.Slice(bad[0], int(bad[1]))
				require.True(t, errors.Is(err, ErrMalformed), "slice %v", bad)
			}
			f, err := DecodeFrame(s.Bytes()[off:])
			require.NoError(t, err)
			require.EqualValues(t, 1, f.Version)

			// A segment whose header names another id is refused.
			require.NoError(t, fs.Rename(filepath.Join(dir, FileName(3)), filepath.Join(dir, FileName(4))))
			_, err = OpenSealed(fs, filepath.Join(dir, FileName(4)))
			require.ErrorIs(t, err, ErrBadHeader)
		})
	}
}

func TestWrapBody(t *testing.T) {
	b, _ := buildFrame(t, 3, 4, []testEntry{{KindPut, "r", "k", []byte("v")}}, false)
	require.Equal(t, b, WrapBody(b[FrameHeaderSize:]), "wrapping a frame's body rebuilds the frame")
	_, err := DecodeFrame(WrapBody([]byte("not a body at all, but long enough")))
	require.ErrorIs(t, err, ErrMalformed, "the checksum passes, the body does not")
}

func TestScanFramesAndTornTail(t *testing.T) {
	a, _ := buildFrame(t, 1, 1, []testEntry{{KindPut, "r", "a", []byte("1")}}, false)
	c, _ := buildFrame(t, 2, 2, []testEntry{{KindPut, "r", "b", []byte("2")}}, false)
	data := append(append(EncodeHeader(1), a...), c...)
	var offs []int64
	end, err := ScanFrames(data, func(off int64, f *Frame) error { offs = append(offs, off); return nil })
	require.NoError(t, err)
	require.EqualValues(t, len(data), end)
	require.Equal(t, []int64{HeaderSize, int64(HeaderSize + len(a))}, offs)

	cut := data[:len(data)-3]
	end, err = ScanFrames(cut, func(int64, *Frame) error { return nil })
	require.ErrorIs(t, err, ErrTruncated)
	require.EqualValues(t, HeaderSize+len(a), end)
	require.True(t, IsTornTail(cut, end))

	bad := append([]byte(nil), data...)
	bad[HeaderSize+20] ^= 1
	end, err = ScanFrames(bad, func(int64, *Frame) error { return nil })
	require.Error(t, err)
	require.EqualValues(t, HeaderSize, end)
	require.False(t, IsTornTail(bad, end), "a valid frame follows: corruption")
}
