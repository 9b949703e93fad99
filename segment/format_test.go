package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// seg builds segment bytes in memory the way a Writer does.
type seg struct {
	h      Header
	enc    *Encoder
	data   []byte
	synced int64
	ends   []int64 // end offset of each frame
}

func newSeg(base uint64) *seg {
	h := NewHeader(1, base, 1_700_000_000_000_000)
	return &seg{h: h, enc: NewEncoder(h), data: h.Encode(), synced: HeaderSize}
}

// commit appends a commit frame and returns its value offsets.
func (s *seg) commit(t testing.TB, ents ...EntrySpec) []int64 {
	t.Helper()
	var offs []int64
	var err error
	s.data, offs, err = s.enc.AppendCommit(s.data, int64(len(s.data)), s.synced, s.enc.next, s.enc.ts+7, ents, nil)
	require.NoError(t, err)
	s.ends = append(s.ends, int64(len(s.data)))
	return offs
}

func (s *seg) marker(t testing.TB) {
	t.Helper()
	var err error
	var ok bool
	s.data, ok, err = s.enc.AppendMarker(s.data, int64(len(s.data)), s.synced)
	require.NoError(t, err)
	require.True(t, ok, "the marker claims something new")
	s.ends = append(s.ends, int64(len(s.data)))
}

// sync records that everything so far is durable.
func (s *seg) sync() { s.synced = int64(len(s.data)) }

func put(run, key, value string) EntrySpec {
	return EntrySpec{Op: OpPut, Run: run, Key: key, Value: []byte(value)}
}

func del(run, key string) EntrySpec { return EntrySpec{Op: OpDelete, Run: run, Key: key} }

// scanAll scans data and returns the frames and the error that stopped
// the scan (nil at a clean end).
func scanAll(t testing.TB, data []byte) ([]Frame, *Scanner, error) {
	t.Helper()
	sc, err := NewScanner(data)
	require.NoError(t, err)
	var frames []Frame
	for {
		f, err := sc.Next()
		if err == io.EOF {
			return frames, sc, nil
		}
		if err != nil {
			return frames, sc, err
		}
		frames = append(frames, f)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := NewHeader(42, 7, 123)
	b := h.Encode()
	require.Len(t, b, HeaderSize)
	got, err := DecodeHeader(b)
	require.NoError(t, err)
	require.Equal(t, h, got)
	require.NotEqual(t, h.Salt, NewHeader(42, 7, 123).Salt, "salts are drawn at random")
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x40
		_, err := DecodeHeader(bad)
		require.ErrorIs(t, err, ErrBadHeader, "flipped byte %d", i)
	}
	_, err = DecodeHeader(b[:HeaderSize-1])
	require.ErrorIs(t, err, ErrBadHeader)
	_, err = DecodeHeader(nil)
	require.ErrorIs(t, err, ErrBadHeader)

	// A version-1 file is recognised and refused plainly, not as damage.
	v1 := make([]byte, 32)
	copy(v1, Magic)
	binary.LittleEndian.PutUint32(v1[8:], 1)
	_, err = DecodeHeader(v1)
	require.ErrorIs(t, err, ErrOldFormat)
	require.NotErrorIs(t, err, ErrBadHeader)
	require.Contains(t, err.Error(), "format version 1")
	future := bytes.Clone(b)
	binary.LittleEndian.PutUint32(future[8:], 3)
	binary.LittleEndian.PutUint64(future[48:], 12345)
	_, err = DecodeHeader(future)
	require.ErrorIs(t, err, ErrOldFormat, "another version's layout: refused, not called damage")
}

func TestFrameRoundTrip(t *testing.T) {
	big := strings.Repeat(`{"step":17,"note":"the same words again"}`, 50)
	tests := []struct {
		name string
		ents []EntrySpec
	}{
		{"one put", []EntrySpec{put("r", "k", "v")}},
		{"empty value", []EntrySpec{put("r", "k", "")}},
		{"tombstone", []EntrySpec{del("run", "key")}},
		{"batch", []EntrySpec{put("r", "a", "1"), del("r", "b"), put("r2", "c", big), put("r2", "d", "x")}},
		{"max lengths", []EntrySpec{put(strings.Repeat("r", MaxRunLen), strings.Repeat("k", MaxKeyLen), "x")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, compress := range []bool{false, true} {
				s := newSeg(5)
				ents := make([]EntrySpec, len(tc.ents))
				for i, e := range tc.ents {
					ents[i] = e
					if compress && e.Op == OpPut {
						ents[i].Value, ents[i].Codec = Compress(nil, e.Value)
					}
				}
				// The same commit twice: the second refers to its runs by number.
				offs := [][]int64{s.commit(t, ents...), s.commit(t, ents...)}
				require.Less(t, s.ends[1]-s.ends[0], s.ends[0]-HeaderSize, "runs are named once per segment")
				frames, _, err := scanAll(t, s.data)
				require.NoError(t, err)
				require.Len(t, frames, 2)
				for fi, f := range frames {
					require.EqualValues(t, 5+fi, f.Version)
					require.Equal(t, 1_700_000_000_000_000+7*int64(fi+1), f.Timestamp)
					require.Equal(t, len(tc.ents), f.Count)
					require.Equal(t, s.data[f.Offset:f.Offset+int64(f.Size)], f.Bytes())
					i := 0
					require.NoError(t, f.Entries(func(e Entry) error {
						want := tc.ents[i]
						require.Equal(t, want.Op, e.Op)
						require.Equal(t, want.Run, string(e.Run))
						require.Equal(t, want.Key, string(e.Key))
						require.Equal(t, offs[fi][i], f.Offset+int64(e.ValueOffset))
						v, err := DecodeValue(e.Codec, e.Value)
						require.NoError(t, err)
						require.Equal(t, string(want.Value), string(v))
						i++
						return nil
					}))
					require.Equal(t, len(tc.ents), i)
				}
			}
		})
	}
}

func TestCompressionOnlyWhenItPays(t *testing.T) {
	c, codec := Compress(nil, []byte(strings.Repeat("a", 1000)))
	require.Equal(t, CodecS2, codec)
	require.Less(t, len(c), 100)
	random := make([]byte, 1000)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	c, codec = Compress([]byte("prefix"), random)
	require.Equal(t, CodecRaw, codec, "incompressible values are stored raw")
	require.Equal(t, append([]byte("prefix"), random...), c)
	_, codec = Compress(nil, []byte("short"))
	require.Equal(t, CodecRaw, codec, "short values are never compressed")
}

// Every single-byte change of a frame is detected, and every cut is
// reported as truncated.
func TestFrameDamageDetected(t *testing.T) {
	s := newSeg(1)
	s.commit(t, put("r", "key", "value"), del("r", "gone"))
	s.sync()
	s.marker(t)
	for _, fr := range []struct{ from, to int64 }{{HeaderSize, s.ends[0]}, {s.ends[0], s.ends[1]}} {
		for i := fr.from; i < fr.to; i++ {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				bad := bytes.Clone(s.data[:fr.to])
				bad[i] ^= mask
				sc, err := NewScanner(bad)
				require.NoError(t, err)
				if fr.from > HeaderSize {
					_, err = sc.Next()
					require.NoError(t, err)
				}
				_, err = sc.Next()
				require.Error(t, err, "byte %d ^ %#x accepted", i, mask)
				require.Equal(t, fr.from, sc.Offset(), "the scanner stays at the bad frame")
			}
		}
		for n := fr.from + 1; n < fr.to; n++ {
			sc, err := NewScanner(s.data[:n])
			require.NoError(t, err)
			if fr.from > HeaderSize {
				_, err = sc.Next()
				require.NoError(t, err)
			}
			_, err = sc.Next()
			require.ErrorIs(t, err, ErrTruncated, "cut at %d", n)
		}
	}
}

// entryBytes hand-encodes entries for WrapEntries.
func entryBytes(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			b = append(b, p)
		case int:
			b = binary.AppendUvarint(b, uint64(p))
		case string:
			b = append(b, p...)
		case []byte:
			b = append(b, p...)
		}
	}
	return b
}

// Frames whose checks pass but whose fields are out of range or not in
// their one canonical encoding are refused.
func TestDecodeRejectsNonCanonical(t *testing.T) {
	h := NewHeader(1, 10, 0)
	good := entryBytes(byte(OpPut|flagRunNamed), 1, "r", 1, "k", 1, "v")
	ref := entryBytes(byte(OpPut|1<<flagRunShift), 1, "j", 1, "w") // run number 0
	frame := func(vdelta, synced, count uint64, entries ...[]byte) []byte {
		return WrapEntries(h.Encode(), h, vdelta, 0, synced, count, bytes.Join(entries, nil))
	}
	require.NoError(t, func() error { _, _, err := scanAll(t, frame(0, 0, 2, good, ref)); return err }(), "the base case decodes")
	cases := map[string]struct {
		data []byte
		want error
	}{
		"op 0":                        {frame(0, 0, 1, entryBytes(byte(flagRunNamed), 1, "r", 1, "k", 1, "v")), ErrMalformed},
		"op 3":                        {frame(0, 0, 1, entryBytes(byte(3|flagRunNamed), 1, "r", 1, "k", 1, "v")), ErrMalformed},
		"codec 2":                     {frame(0, 0, 1, entryBytes(byte(OpPut|2<<2|flagRunNamed), 1, "r", 1, "k", 1, "v")), ErrMalformed},
		"tombstone with codec":        {frame(0, 0, 1, entryBytes(byte(OpDelete|1<<2|flagRunNamed), 1, "r", 1, "k")), ErrMalformed},
		"run named and numbered":      {frame(0, 0, 1, entryBytes(byte(OpPut|flagRunNamed|1<<flagRunShift), 1, "r", 1, "k", 1, "v")), ErrMalformed},
		"run length 0":                {frame(0, 0, 1, entryBytes(byte(OpPut|flagRunNamed), 0, 1, "k", 1, "v")), ErrMalformed},
		"key length 0":                {frame(0, 0, 1, entryBytes(byte(OpPut|flagRunNamed), 1, "r", 0, 1, "v")), ErrMalformed},
		"run named twice":             {frame(0, 0, 2, good, good), ErrMalformed},
		"run number unknown":          {frame(0, 0, 2, good, entryBytes(byte(OpPut|2<<flagRunShift), 1, "j", 1, "w")), ErrMalformed},
		"small run number as uvarint": {frame(0, 0, 2, good, entryBytes(byte(OpPut), 0, 1, "j", 1, "w")), ErrMalformed},
		"run number first":            {frame(0, 0, 1, ref), ErrMalformed},
		"non-minimal varint":          {frame(0, 0, 1, entryBytes(byte(OpPut|flagRunNamed), 1, "r", byte(0x81), byte(0), "k", 1, "v")), ErrMalformed},
		"count 2 of 1":                {frame(0, 0, 2, good), ErrMalformed},
		"bytes after entries":         {frame(0, 0, 1, good, []byte{0}), ErrMalformed},
		"marker with a body":          {frame(0, HeaderSize+1, 0, good), ErrMalformed},
		"marker without a claim":      {frame(0, 0, 0), ErrMalformed},
		"key twice in a commit":       {frame(0, 0, 2, good, entryBytes(byte(OpDelete|1<<flagRunShift), 1, "k")), ErrMalformed},
		"synced before header":        {frame(0, 1, 1, good), ErrMalformed},
		"claim beyond its offset":     {frame(0, HeaderSize+1, 1, good), ErrSequence},
		"claim not above the last":    {frame(0, HeaderSize, 1, good), ErrSequence},
		"version skipped":             {frame(1, 0, 1, good), ErrSequence},
		"value past the end":          {frame(0, 0, 1, entryBytes(byte(OpPut|flagRunNamed), 1, "r", 1, "k", 9, "v")), ErrMalformed},
		"tombstone value field":       {frame(0, 0, 1, entryBytes(byte(OpDelete|flagRunNamed), 1, "r", 1, "k", 1, "v")), ErrMalformed},
	}
	for name, c := range cases {
		_, _, err := scanAll(t, c.data)
		require.ErrorIs(t, err, c.want, name)
	}
	// A non-minimal varint in the head is refused too.
	d := h.Encode()
	d = append(d, h.tag(), 0, 0, 0, 0x85, 0x00, 0, 0, 0, 0)
	putHeadCheck(d[HeaderSize+1:], headCheck(h.Salt, d[HeaderSize+varintsAt:]))
	_, _, err := scanAll(t, d)
	require.ErrorIs(t, err, ErrMalformed)
	// Claims never go back, and the encoder will not write one that does.
	s := newSeg(1)
	s.commit(t, put("r", "a", "1"))
	s.sync()
	s.commit(t, put("r", "b", "2"))
	_, _, err = s.enc.AppendCommit(nil, int64(len(s.data)), HeaderSize, s.enc.Next(), s.enc.ts, []EntrySpec{put("r", "c", "3")}, nil)
	require.Error(t, err)
}

// A frame is accepted only in its own segment and with the version the
// reader expects next, so bytes copied from frames (into a value, say)
// cannot pass for frames.
func TestFramesAreUnforgeable(t *testing.T) {
	s := newSeg(1)
	s.commit(t, put("r", "a", "1"))
	frame := bytes.Clone(s.data[HeaderSize:])
	// The same frame again: it verifies, but its version is not next.
	again := append(bytes.Clone(s.data), frame...)
	_, sc, err := scanAll(t, again)
	require.ErrorIs(t, err, ErrSequence)
	require.Equal(t, s.ends[0], sc.Offset())
	// Another segment's frame at the same offset fails too.
	other := newSeg(1)
	other.commit(t, put("r", "a", "1"))
	_, _, err = scanAll(t, append(s.h.Encode(), other.data[HeaderSize:]...))
	require.Error(t, err)
}

func TestSyncProof(t *testing.T) {
	s := newSeg(1)
	for i := 0; i < 3; i++ {
		s.commit(t, put("r", "k", "synced"))
	}
	s.sync()
	for i := 0; i < 3; i++ {
		s.commit(t, put("r", "k", "unsynced"))
	}
	damage := func(from, to int64, fill byte) []byte {
		b := bytes.Clone(s.data)
		for i := from; i < to; i++ {
			b[i] = fill
		}
		return b
	}
	proof := func(data []byte) (int64, int64, bool) {
		_, sc, err := scanAll(t, data)
		require.Error(t, err)
		off, ok := sc.SyncProof()
		return sc.Offset(), off, ok
	}
	// Damage to synced frame 2: frames 4-6 claim it was synced.
	bad, at, ok := proof(damage(s.ends[0], s.ends[1], 0))
	require.Equal(t, s.ends[0], bad)
	require.True(t, ok, "damage to synced bytes is proven")
	require.Equal(t, s.ends[2], at)
	// A hole over unsynced frame 5, frame 6 intact after it: no proof.
	_, _, ok = proof(damage(s.ends[3], s.ends[4], 0))
	require.False(t, ok, "a hole in never-synced bytes is torn")
	_, _, ok = proof(damage(s.ends[3], s.ends[4], 0xa5))
	require.False(t, ok)
	// Everything cut after the synced part: no proof either.
	_, _, ok = proof(s.data[:s.ends[3]+3])
	require.False(t, ok)
	// A sync marker after a sync proves the frames before it.
	s.sync()
	s.marker(t)
	_, _, ok = proof(damage(s.ends[4], s.ends[5], 0))
	require.True(t, ok, "a marker written after the last sync proves it")
}

// Stored values holding valid frames (here the segment's own bytes) never
// serve as proof, and the search stays linear whatever the bytes.
func TestSyncProofIgnoresStoredFramesAndIsLinear(t *testing.T) {
	s := newSeg(1)
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 50; i++ {
		v := make([]byte, 100)
		for j := range v {
			v[j] = byte(r.Uint32())
		}
		s.commit(t, put("r", "k", string(v)))
		s.sync() // each frame claims all before it synced
	}
	blob := bytes.Clone(s.data)
	s.commit(t, put("r", "blob", string(blob)))
	for cut := s.ends[len(s.ends)-2] + 1; cut < int64(len(s.data)); cut += 97 {
		_, sc, err := scanAll(t, s.data[:cut])
		require.ErrorIs(t, err, ErrTruncated)
		_, ok := sc.SyncProof()
		require.False(t, ok, "cut at %d: a frame inside a value proved something", cut)
	}
	// Work is linear in the tail: random bytes, zeros, and the worst case
	// for the byte search, the tag repeated.
	h := NewHeader(1, 1, 0)
	for name, fill := range map[string]func(i int) byte{
		"random": func(int) byte { return byte(r.Uint32()) },
		"zeros":  func(int) byte { return 0 },
		"tags":   func(int) byte { return h.tag() },
	} {
		for _, n := range []int{1 << 16, 1 << 20} {
			data := h.Encode()
			for i := 0; i < n; i++ {
				data = append(data, fill(i))
			}
			sc := newScanner(h, data)
			_, err := sc.Next()
			require.Error(t, err)
			_, ok, work := sc.syncProof()
			require.False(t, ok)
			require.LessOrEqual(t, work, int64(maxHead+1)*int64(n), "%s, %d bytes", name, n)
		}
	}
}

// TestFramingBytes checks the framing figures the package doc states.
func TestFramingBytes(t *testing.T) {
	// framing encodes a single put of run number run, claimed bytes having
	// been claimed before and synced bytes synced now, and returns its
	// bytes beyond the key and value.
	framing := func(run uint64, prevTS, claimed, synced, off int64, version uint64, ts int64, key, value int) int {
		h := NewHeader(1, 1, 0)
		enc := NewEncoder(h)
		for i := uint64(0); i <= run; i++ {
			enc.runs[fmt.Sprint("r", i)] = i
		}
		enc.ts, enc.next, enc.claimed = prevTS, version, claimed
		b, _, err := enc.AppendCommit(nil, off, synced, version, ts,
			[]EntrySpec{{Op: OpPut, Run: fmt.Sprint("r", run), Key: strings.Repeat("k", key), Value: make([]byte, value)}}, nil)
		require.NoError(t, err)
		return len(b) - key - value
	}
	require.Equal(t, 16, framing(0, 0, HeaderSize, HeaderSize, 1000, 1, 0, 1, 0), "the least framing")
	// The benchmark's commit: 16-byte key, 100-byte value, 1 million
	// commits into the segment, 10 µs after the last; Buffered (no new
	// claim) and Strict (a new claim, the segment past 2 MiB).
	require.Equal(t, 18, framing(0, 100, 1<<21, 1<<21, 3<<20, 1_000_000, 110, 16, 100))
	require.Equal(t, 21, framing(0, 100, 1<<21, 3<<20, 3<<20, 1_000_000, 110, 16, 100))
	// The stated bound: run number < 7, key < 128, key + value < 16,000,
	// < 2^21 commits into the segment, < 16 ms apart, a segment < 256 MiB.
	require.Equal(t, 24, framing(6, 0, 1<<27, 1<<28-1, 1<<28-1, 1<<21-1, 16_383, 127, 16_000-127-1))
	require.Equal(t, 21, framing(6, 0, 1<<27, 1<<27, 1<<28-1, 1<<21-1, 16_383, 127, 16_000-127-1), "no new claim: 3 bytes less")
	// Beyond it: run numbers from 7 cost their uvarint, commits 2 s apart
	// one more byte, and so does naming the run (beyond its name's bytes).
	require.Equal(t, 25, framing(7, 0, 1<<27, 1<<28-1, 1<<28-1, 1<<21-1, 16_383, 127, 16_000-127-1))
	require.Equal(t, 25, framing(6, 0, 1<<27, 1<<28-1, 1<<28-1, 1<<21-1, 2_000_000-1, 127, 16_000-127-1))
	enc := NewEncoder(NewHeader(1, 1, 0))
	enc.ts, enc.next, enc.claimed = 0, 1<<21-1, 1<<27
	b, _, err := enc.AppendCommit(nil, 1<<28-1, 1<<28-1, 1<<21-1, 16_383,
		[]EntrySpec{{Op: OpPut, Run: "run", Key: strings.Repeat("k", 127), Value: make([]byte, 16_000-127-1)}}, nil)
	require.NoError(t, err)
	require.Equal(t, 25, len(b)-len("run")-16_000+1, "the commit that names its run")
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
	require.Equal(t, uint32(4294967295), id)
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
			w, err := Create(fs, dir, 3, 1, 100)
			require.NoError(t, err)
			require.EqualValues(t, HeaderSize, w.Size())

			off, offs, err := w.AppendCommit(1, 110, []EntrySpec{put("r", "k", "hello")}, nil)
			require.NoError(t, err)
			require.EqualValues(t, HeaderSize, off)
			// Buffered frames are readable by the appender before Flush.
			got, err := w.ReadAt(offs[0], 5)
			require.NoError(t, err)
			require.Equal(t, "hello", string(got))
			require.NoError(t, w.Flush())
			got, err = w.ReadAt(offs[0], 5)
			require.NoError(t, err)
			require.Equal(t, "hello", string(got))
			_, err = w.ReadAt(w.Size()-2, 5)
			require.Error(t, err)
			require.EqualValues(t, HeaderSize, w.Synced())
			require.NoError(t, w.Sync())
			require.Equal(t, w.Size(), w.Synced())
			_, _, err = w.AppendCommit(3, 120, []EntrySpec{put("r", "k", "x")}, nil)
			require.Error(t, err, "versions follow on")
			_, _, err = w.AppendCommit(2, 90, []EntrySpec{put("r", "k", "x")}, nil)
			require.Error(t, err, "timestamps never go back")
			require.NoError(t, w.Close(true))
			require.NoError(t, w.Sync(), "Sync after Close is a no-op")

			s, err := OpenSealed(fs, filepath.Join(dir, FileName(3)))
			require.NoError(t, err)
			defer s.Close()
			require.EqualValues(t, 3, s.ID())
			size := int64(len(s.Bytes()))
			v, err := s.Slice(offs[0], 5)
			require.NoError(t, err)
			require.Equal(t, "hello", string(v))
			for _, bad := range [][2]int64{{0, 1}, {size, 1}, {size - 1, 2}, {-5, 1}, {HeaderSize, -1}} {
				_, err := s.Slice(bad[0], int(bad[1]))
				require.True(t, errors.Is(err, ErrMalformed), "slice %v", bad)
			}
			sc := s.Scanner()
			f, err := sc.Next()
			require.NoError(t, err)
			require.EqualValues(t, 1, f.Version)
			f, err = sc.Next()
			require.NoError(t, err)
			require.True(t, f.Marker(), "Close appended a sync marker")
			require.Equal(t, f.Offset, f.Synced, "claiming the whole file synced")
			_, err = sc.Next()
			require.Equal(t, io.EOF, err)

			// A segment whose header names another id is refused.
			require.NoError(t, fs.Rename(filepath.Join(dir, FileName(3)), filepath.Join(dir, FileName(4))))
			_, err = OpenSealed(fs, filepath.Join(dir, FileName(4)))
			require.ErrorIs(t, err, ErrBadHeader)
		})
	}
}

// A failed write drops the buffered frames and cuts the file back; the
// writer then refuses everything, and Close writes nothing.
func TestWriterFailureIsFinal(t *testing.T) {
	mem := vfs.NewMem()
	require.NoError(t, mem.MkdirAll("/d"))
	efs := vfs.NewErrorFS(mem, -1, false)
	w, err := Create(efs, "/d", 1, 1, 0)
	require.NoError(t, err)
	_, _, err = w.AppendCommit(1, 1, []EntrySpec{put("r", "a", "1")}, nil)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	good := w.Flushed()
	_, _, err = w.AppendCommit(2, 1, []EntrySpec{put("r", "b", "2")}, nil)
	require.NoError(t, err)
	efs.FailFrom(efs.Ops()) // the write fails, and so would anything after
	require.Error(t, w.Flush())
	efs.Disarm()
	require.False(t, w.Pending(), "the failed group's frames are dropped")
	require.Error(t, w.Flush())
	_, _, err = w.AppendCommit(3, 1, []EntrySpec{put("r", "c", "3")}, nil)
	require.Error(t, err)
	require.Error(t, w.Close(true), "Close returns the failure")
	f, err := mem.Open("/d/" + FileName(1))
	require.NoError(t, err)
	size, err := f.Size()
	require.NoError(t, err)
	require.Equal(t, good, size, "nothing of the failed group, no marker")
}

// After a failed fsync every later Sync fails too, even when the next
// fsync would succeed: the kernel may have dropped the dirty pages the
// failed one covered and marked them clean, so a success proves nothing.
func TestFailedSyncIsFinal(t *testing.T) {
	mem := vfs.NewMem()
	require.NoError(t, mem.MkdirAll("/d"))
	efs := vfs.NewErrorFS(mem, -1, false)
	w, err := Create(efs, "/d", 1, 1, 0)
	require.NoError(t, err)
	defer w.Close(false)
	_, _, err = w.AppendCommit(1, 1, []EntrySpec{put("r", "a", "1")}, nil)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	efs.FailFrom(efs.Ops()) // the fsync fails
	require.Error(t, w.Sync())
	efs.Disarm()
	require.Error(t, w.Sync(), "a later fsync cannot prove the bytes the failed one covered")
	require.Less(t, w.Synced(), w.Flushed(), "nothing recorded as synced")
}

// A stored value can hold thousands of copies of a real frame head (the
// user can read them from the file). Copies of a head that claims nothing
// about the damaged bytes cost nothing and prove nothing; copies of one
// that does are true claims (here of a frame B written after the damaged
// frame A was synced, B itself damaged too), and their failing bodies
// cost at most twice the tail before the search counts them as the proof
// they are. Either way the work stays linear.
func TestSyncProofLinearOnStoredHeads(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	noise := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for _, claimsBad := range []bool{false, true} {
		s := newSeg(1)
		for i := 0; i < 3; i++ {
			s.commit(t, put("r", "k", "synced"))
		}
		s.sync()
		offA := int64(len(s.data))
		s.commit(t, EntrySpec{Op: OpPut, Run: "r", Key: "a", Value: noise(256 << 10)}) // 256 KiB
		if claimsBad {
			s.sync() // the next frame claims frame A synced
		}
		offB := int64(len(s.data))
		s.commit(t, EntrySpec{Op: OpPut, Run: "r", Key: "b", Value: noise(64 << 10)})
		copied := offA
		if claimsBad {
			copied = offB
		}
		hd, err := parseHead(&s.h, s.data, copied)
		require.NoError(t, err)
		head := bytes.Clone(s.data[copied : copied+int64(hd.len)])
		s.commit(t, EntrySpec{Op: OpPut, Run: "r", Key: "c", Value: append(bytes.Repeat(head, 4000), noise(300<<10)...)})

		data := bytes.Clone(s.data)
		clear(data[offA+1000 : offA+1064]) // damage inside frame A
		if claimsBad {
			clear(data[offB : offB+8]) // and the frame whose claim would prove it
		}
		sc := newScanner(s.h, data)
		for {
			if _, err := sc.Next(); err != nil {
				break
			}
		}
		require.Equal(t, offA, sc.Offset())
		tail := int64(len(data)) - offA
		_, ok, work := sc.syncProof()
		require.Equal(t, claimsBad, ok, "copies of a head prove only what the head truly claims")
		require.LessOrEqual(t, work, int64(maxHead+1)*tail+2*tail, "linear in the tail")
	}
}
