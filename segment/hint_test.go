package segment

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"github.com/strata-kv/strata/internal/offheap"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/stretchr/testify/require"
)

// readHint returns every record of a hint file, copied.
func readHint(t testing.TB, b []byte) (HintHeader, []HintEntry, error) {
	t.Helper()
	r, err := NewHintReader(b)
	if err != nil {
		return HintHeader{}, nil, err
	}
	out, err := r.All()
	return r.Header(), out, err
}

// writeSealed writes s's bytes as segment 1 in a new directory and maps it.
func writeSealed(t *testing.T, s *seg) *Sealed {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName(s.h.ID))
	require.NoError(t, os.WriteFile(path, s.data, 0o644))
	sealed, err := OpenSealed(vfs.Default, path)
	require.NoError(t, err)
	t.Cleanup(func() { sealed.Close() })
	return sealed
}

func TestHintOfASegment(t *testing.T) {
	s := newSeg(5)
	s.commit(t, put("r2", "b", "1"), put("r1", "zz", "2")) // 5
	s.commit(t, del("r2", "b"), put("r1", "a", "3"))       // 6
	s.sync()
	s.marker(t)
	s.commit(t, put("r2", "b", "4"), put("r2", "ba", "5"), put("r1", "z", "6")) // 7
	sealed := writeSealed(t, s)

	hint, err := BuildHint(sealed, 0)
	require.NoError(t, err)
	hd, got, err := readHint(t, hint)
	require.NoError(t, err)
	require.True(t, hd.Matches(sealed))
	require.EqualValues(t, 5, hd.Base)
	require.EqualValues(t, 7, hd.Last)
	require.EqualValues(t, 3, hd.Frames)
	require.EqualValues(t, 7, hd.Entries)
	require.EqualValues(t, 5, hd.Keys)

	var names []string
	for _, e := range got {
		names = append(names, fmt.Sprintf("%s/%s@%d:%d", e.Run, e.Key, e.Version, e.Op))
		if e.Op == OpPut {
			v, err := sealed.Slice(e.Offset, int(e.Len))
			require.NoError(t, err)
			require.NotEmpty(t, v)
		}
	}
	require.Equal(t, []string{"r1/a@6:1", "r1/z@7:1", "r1/zz@5:1", "r2/b@5:1", "r2/b@6:2", "r2/b@7:1", "r2/ba@7:1"}, names)

	// Another segment's hint, or a segment of another size, does not match.
	other := newSeg(5)
	other.commit(t, put("r", "k", "v"))
	require.False(t, hd.Matches(writeSealed(t, other)))
}

// TestHintRoundTrip encodes random sorted entries and reads them back.
func TestHintRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 50 {
		hd := HintHeader{Segment: 9, Salt: rng.Uint64(), Size: 1 << 20, Base: 100, Last: 100 + uint64(rng.IntN(1000))}
		var entries []HintEntry
		for range rng.IntN(300) {
			e := HintEntry{
				Run:       []byte(fmt.Sprintf("run%d", rng.IntN(3))),
				Key:       []byte(fmt.Sprintf("k%0*d", rng.IntN(4), rng.IntN(50))),
				Version:   hd.Base + uint64(rng.IntN(int(hd.Last-hd.Base+1))),
				Timestamp: rng.Int64N(1<<50) - 1<<49,
				Offset:    HeaderSize + rng.Int64N(1000),
				Op:        OpPut,
				Codec:     uint8(rng.IntN(2)),
			}
			e.Len = uint32(rng.IntN(100))
			if rng.IntN(5) == 0 {
				e.Op, e.Codec, e.Len = OpDelete, CodecRaw, 0
			}
			entries = append(entries, e)
		}
		entries = sortedUnique(entries)
		b := EncodeHint(hd, entries)
		got, list, err := readHint(t, b)
		require.NoError(t, err, "round %d", round)
		require.Equal(t, len(entries), len(list))
		for i := range entries {
			require.Equal(t, entries[i], list[i], "round %d record %d", round, i)
		}
		require.EqualValues(t, len(entries), got.Entries)

		// Every single-byte change is caught (the checksum covers all).
		i := rng.IntN(len(b))
		b[i] ^= 1 << rng.IntN(8)
		_, _, err = readHint(t, b)
		require.ErrorIs(t, err, ErrBadHint, "round %d: flipped byte %d", round, i)
	}
}

func sortedUnique(es []HintEntry) []HintEntry {
	es = builderOf(es).sorted()
	out := es[:0]
	for i := range es {
		if len(out) > 0 && out[len(out)-1].Compare(&es[i]) == 0 {
			continue
		}
		out = append(out, es[i])
	}
	return out
}

func TestHintRejects(t *testing.T) {
	hd := HintHeader{Segment: 1, Size: 1000, Base: 10, Last: 20}
	good := []HintEntry{
		{Run: []byte("r"), Key: []byte("a"), Version: 10, Offset: 60, Len: 5, Op: OpPut},
		{Run: []byte("r"), Key: []byte("a"), Version: 12, Offset: 70, Op: OpDelete},
		{Run: []byte("r"), Key: []byte("b"), Version: 11, Offset: 80, Len: 5, Op: OpPut},
	}
	_, _, err := readHint(t, EncodeHint(hd, good))
	require.NoError(t, err)
	for name, mutate := range map[string]func([]HintEntry){
		"keys out of order":     func(e []HintEntry) { e[0].Key, e[1].Key, e[2].Key = []byte("b"), []byte("b"), []byte("a") },
		"versions out of order": func(e []HintEntry) { e[1].Version = 10 },
		"version beyond last":   func(e []HintEntry) { e[2].Version = 21 },
		"value beyond segment":  func(e []HintEntry) { e[2].Offset = 996 },
		"value in the header":   func(e []HintEntry) { e[0].Offset = 10 },
		"tombstone with value":  func(e []HintEntry) { e[1].Len = 3 },
	} {
		es := append([]HintEntry(nil), good...)
		mutate(es)
		_, _, err := readHint(t, EncodeHint(hd, es))
		require.ErrorIs(t, err, ErrBadHint, name)
	}
	_, err = NewHintReader([]byte("STRATA\x00H"))
	require.ErrorIs(t, err, ErrBadHint)
}

func TestHintNames(t *testing.T) {
	id, ok := ParseHintName(HintName(42))
	require.True(t, ok)
	require.EqualValues(t, 42, id)
	for _, bad := range []string{"0000000042.seg", "42.hint", "0000000000.hint", "0000000042.hint.tmp"} {
		_, ok := ParseHintName(bad)
		require.False(t, ok, bad)
	}
}

// The builder's records are as small as its doc says, and give back
// what went in: the longest key, both ops, every codec.
func TestHintRecord(t *testing.T) {
	require.EqualValues(t, 40, unsafe.Sizeof(hintRec{}))
	var b HintBuilder
	long := bytes.Repeat([]byte{0xff}, MaxKeyLen)
	want := []HintEntry{
		{Run: []byte("r"), Key: long, Version: 1, Timestamp: -5, Offset: 1 << 40, Len: 1<<32 - 1, Op: OpPut, Codec: 3},
		{Run: []byte("s"), Key: []byte{0}, Version: 2, Timestamp: 7, Offset: 9, Len: 0, Op: OpDelete, Codec: 0},
	}
	for _, e := range want {
		require.NoError(t, b.add(e.Run, e.Key, e.Version, e.Timestamp, e.Offset, e.Len, e.Op, e.Codec))
	}
	for i, e := range want {
		require.Equal(t, e, b.entry(uint32(i)))
	}
	require.Error(t, b.add([]byte("r"), append(long, 0), 3, 0, 0, 0, OpPut, 0), "a key beyond MaxKeyLen")
	require.Error(t, b.add([]byte("r"), []byte("k"), 3, 0, 0, 0, 4, 0), "an op beyond two bits")
}

// The builder's sort (by a 16-byte prefix, then the rest) agrees with
// Compare: keys that share long prefixes, short keys padded with what
// looks like zeros, several runs, several versions of a key.
func TestHintBuilderSorts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	prefix := "0123456789abcdef-long-shared-prefix"
	var es []HintEntry
	for v := range 3000 {
		k := []byte(prefix[:rng.IntN(len(prefix)+1)])
		for range rng.IntN(3) {
			k = append(k, byte(rng.IntN(3))) // 0x00 among them
		}
		if len(k) == 0 {
			k = []byte{0}
		}
		es = append(es, HintEntry{Run: []byte(fmt.Sprint("r", rng.IntN(3))), Key: k, Version: uint64(v + 1)})
	}
	got := builderOf(es).sorted()
	want := slices.Clone(es)
	slices.SortFunc(want, func(x, y HintEntry) int { return x.Compare(&y) })
	require.Equal(t, want, got)
}

// builderOf returns a builder holding es.
func builderOf(es []HintEntry) *HintBuilder {
	var b HintBuilder
	for _, e := range es {
		if err := b.add(e.Run, e.Key, e.Version, e.Timestamp, e.Offset, e.Len, e.Op, e.Codec); err != nil {
			panic(err)
		}
	}
	return &b
}

// sorted returns the builder's entries in the order it encodes them
// (copies: HintEntry's fields view the builder's memory).
func (b *HintBuilder) sorted() []HintEntry {
	order, _ := b.order()
	out := make([]HintEntry, len(order))
	for i, sk := range order {
		e := b.entry(sk.Ref)
		e.Run, e.Key = bytes.Clone(e.Run), bytes.Clone(e.Key)
		out[i] = e
	}
	return out
}

// BuildHintFile writes, a piece at a time, the bytes BuildHint returns:
// a hint of many pieces (keys of one version and keys of several, two
// runs); a write that fails part way leaves neither the hint nor its
// temporary file.
func TestBuildHintFileWritesWhatBuildHintReturns(t *testing.T) {
	s := newSeg(1)
	r := rand.New(rand.NewPCG(3, 4))
	for c := range 80 {
		var es []EntrySpec
		for i, k := range r.Perm(8000)[:500] {
			run := []string{"a", "b"}[i%2]
			es = append(es, put(run, fmt.Sprintf("key:%06d", k), fmt.Sprint(c, i)))
		}
		s.commit(t, es...)
	}
	sealed := writeSealed(t, s)
	want, err := BuildHint(sealed, 0)
	require.NoError(t, err)
	require.Greater(t, len(want), 3*hintPiece, "a hint of several pieces")

	dir := t.TempDir()
	require.NoError(t, BuildHintFile(vfs.Default, dir, sealed, 0))
	got, err := os.ReadFile(filepath.Join(dir, HintName(sealed.ID())))
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "%d bytes written, BuildHint returns %d", len(got), len(want))

	dir = t.TempDir()
	efs := vfs.NewErrorFS(vfs.Default, -1, false)
	writes := 0
	efs.FailWhen(func(op vfs.Op) bool {
		if op.Kind == vfs.OpWrite {
			writes++
			return writes == 2 // the second piece
		}
		return false
	})
	err = BuildHintFile(efs, dir, sealed, 0)
	var inj *vfs.InjectedError
	require.ErrorAs(t, err, &inj)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left, "a failed write leaves nothing")
}

// encodeHint refuses a header whose Keys the entries do not hold: the
// reader would reject the file it wrote.
func TestEncodeHintChecksKeys(t *testing.T) {
	es := []HintEntry{
		{Run: []byte("r"), Key: []byte("a"), Version: 1, Offset: HeaderSize, Op: OpPut},
		{Run: []byte("r"), Key: []byte("a"), Version: 2, Offset: HeaderSize, Op: OpPut},
		{Run: []byte("r"), Key: []byte("b"), Version: 3, Offset: HeaderSize, Op: OpPut},
	}
	at := func(i int) *HintEntry { return &es[i] }
	var b bytes.Buffer
	require.NoError(t, encodeHint(HintHeader{Size: 1 << 20, Base: 1, Last: 3, Keys: 2}, len(es), at, &b))
	_, got, err := readHint(t, b.Bytes())
	require.NoError(t, err)
	require.Len(t, got, 3)
	for _, keys := range []uint64{1, 3} {
		b.Reset()
		require.ErrorContains(t, encodeHint(HintHeader{Size: 1 << 20, Base: 1, Last: 3, Keys: keys}, len(es), at, &b), "a hint of 2 keys")
	}
}

// A hint goes to its file a piece at a time: the build allocates on the
// Go heap a small fraction of the hint's size (the records, keys and sort
// keys are mapped outside it, see package offheap), where encoding it
// whole had allocated the hint and more.
func TestBuildHintFileAllocatesLittle(t *testing.T) {
	if !offheap.Enabled {
		t.Skip("arenas use the heap here")
	}
	s := newSeg(1)
	r := rand.New(rand.NewPCG(5, 6))
	for c := range 200 {
		var es []EntrySpec
		for i, k := range r.Perm(100000)[:1000] {
			es = append(es, put("r", fmt.Sprintf("key:%012d", k), fmt.Sprint(c, i)))
		}
		s.commit(t, es...)
	}
	sealed := writeSealed(t, s)
	dir := t.TempDir()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	require.NoError(t, BuildHintFile(vfs.Default, dir, sealed, 0))
	runtime.ReadMemStats(&after)
	fi, err := os.Stat(filepath.Join(dir, HintName(sealed.ID())))
	require.NoError(t, err)
	require.Greater(t, fi.Size(), int64(1<<20))
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("a hint of %d bytes, %d bytes allocated on the heap", fi.Size(), alloc)
	require.Less(t, alloc, uint64(fi.Size()/4), "the build allocated %d bytes on the heap for a hint of %d", alloc, fi.Size())
}
