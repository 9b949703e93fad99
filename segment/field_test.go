package segment

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// A value's field (its length uvarint, then its bytes) is found from the
// offsets AppendCommit returns (FieldAt), from a decoded entry
// (FieldOffset) and read back through the writer (buffered, flushed,
// mapped or not) and the sealed mapping, at lengths where the uvarint
// grows a byte.
func TestValueFields(t *testing.T) {
	lengths := []int{0, 1, 63, 64, 127, 128, 129, 16383, 16384, 70000}
	for _, mapped := range []bool{false, true} {
		fs := vfs.FS(vfs.NewMem())
		dir := "/d"
		if mapped {
			fs, dir = vfs.Default, t.TempDir()
		}
		require.NoError(t, fs.MkdirAll(dir))
		w, err := Create(fs, dir, 1, 1, 100)
		require.NoError(t, err)
		require.Equal(t, mapped, w.MapWrites(1<<20))
		var specs []EntrySpec
		for i, n := range lengths {
			v := bytes.Repeat([]byte{byte(i + 1)}, n)
			specs = append(specs, EntrySpec{Op: OpPut, Run: "r", Key: string(rune('a' + i)), Value: v})
		}
		specs = append(specs, EntrySpec{Op: OpDelete, Run: "r", Key: "zz"})
		_, offs, err := w.AppendCommit(1, 100, specs, nil)
		require.NoError(t, err)
		check := func(read func(int64) ([]byte, error), what string) {
			for i, sp := range specs {
				if sp.Op != OpPut {
					continue
				}
				b, err := read(FieldAt(offs[i], len(sp.Value)))
				require.NoError(t, err, "%s: value %d", what, i)
				require.Equal(t, sp.Value, b, "%s: value %d", what, i)
			}
		}
		check(w.Value, "buffered")
		require.NoError(t, w.Flush())
		check(w.Value, "flushed")
		for i, sp := range specs {
			if b := w.From(FieldAt(offs[i], len(sp.Value))); mapped && sp.Op == OpPut {
				require.NotNil(t, b)
				got, err := FieldValue(b)
				require.NoError(t, err)
				require.Equal(t, sp.Value, got)
			} else if !mapped {
				require.Nil(t, b, "no mapping: nothing to view")
			}
		}
		require.Nil(t, w.From(HeaderSize-1))
		require.Nil(t, w.From(w.Flushed()))
		_, err = w.Value(w.Flushed())
		require.ErrorIs(t, err, ErrMalformed)
		_, err = w.Value(0)
		require.ErrorIs(t, err, ErrMalformed)
		require.NoError(t, w.Sync())
		s, err := w.Seal(fs)
		require.NoError(t, err)
		check(s.Value, "sealed")

		// Decoded entries name the same fields.
		sc := s.Scanner()
		f, err := sc.Next()
		require.NoError(t, err)
		i := 0
		require.NoError(t, f.Entries(func(e Entry) error {
			if e.Op == OpPut {
				require.Equal(t, FieldAt(offs[i], len(e.Value)), f.Offset+int64(e.FieldOffset()), "entry %d", i)
			} else {
				require.Zero(t, e.FieldOffset(), "a deletion has no field")
			}
			i++
			return nil
		}))
		require.Equal(t, len(specs), i)
		_, err = sc.Next()
		require.ErrorIs(t, err, io.EOF)

		_, err = s.Value(int64(len(s.Bytes())))
		require.ErrorIs(t, err, ErrMalformed)
		_, err = s.Value(HeaderSize - 1)
		require.ErrorIs(t, err, ErrMalformed)
		require.Nil(t, s.From(-1))
		require.NoError(t, s.Close())
		require.NoError(t, w.Close(false))
	}
}

// FieldValue refuses a length that runs past the bytes, or a uvarint
// that is cut or overflows, and never panics.
func TestFieldValueRefusesBadFields(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{},
		{5, 1, 2, 3},                       // 5 bytes claimed, 3 there
		{0x80},                             // cut uvarint
		{0x80, 0x80},                       // cut uvarint
		bytes.Repeat([]byte{0xff}, 11),     // overflows
		binary.AppendUvarint(nil, 1<<63),   // huge
		binary.AppendUvarint(nil, 1<<31+1), // past the bytes
	} {
		_, err := FieldValue(b)
		require.ErrorIs(t, err, ErrMalformed, "%x", b)
	}
	got, err := FieldValue([]byte{0, 9})
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = FieldValue([]byte{2, 7, 8, 9})
	require.NoError(t, err)
	require.Equal(t, []byte{7, 8}, got)
	require.Equal(t, 2, cap(got), "the value's slice ends with it")
}

func FuzzFieldValue(f *testing.F) {
	f.Add([]byte{2, 7, 8, 9})
	f.Add([]byte{0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := FieldValue(b)
		if err != nil {
			return
		}
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(v)) != n || k+len(v) > len(b) || !bytes.Equal(v, b[k:k+len(v)]) {
			t.Fatalf("FieldValue(%x) = %x", b, v)
		}
	})
}
