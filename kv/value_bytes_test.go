package kv

import (
	"bytes"
	"testing"
)

// FuzzDecodeBytes checks the visits' fast path against the full
// decoder: where decodeBytesInto takes bytes, decodeValueIn must accept
// them and give the same Bytes value; where it declines, it must leave
// the destination as it was.
func FuzzDecodeBytes(f *testing.F) {
	for _, v := range []Value{
		Bytes(nil), Bytes([]byte{0, 1}), Bytes(bytes.Repeat([]byte{7}, 127)), Bytes(bytes.Repeat([]byte{7}, 128)),
		Bytes(bytes.Repeat([]byte{9}, 20000)), String("s"), Int(3), Null(), Array(Bytes([]byte("a"))),
	} {
		b, err := v.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(append(b, 0))                       // a byte after the value
		f.Add(b[:len(b)-1])                       // one short
		f.Add(append([]byte{}, b[0], 0x80, 0x00)) // a padded length
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, err := decodeValueIn(b, nil)
		sentinel := Int(-42)
		got := sentinel
		var mem arena
		if !decodeBytesInto(&got, b, &mem) {
			if !got.Equal(sentinel) {
				t.Fatalf("declined %x but wrote %v", b, got)
			}
			if err == nil && want.Kind() == KindBytes {
				t.Fatalf("declined %x, a whole Bytes value", b)
			}
			return
		}
		if err != nil {
			t.Fatalf("took %x, which the full decoder refuses: %v", b, err)
		}
		if got.Kind() != KindBytes || !got.Equal(want) {
			t.Fatalf("%x: %v (%v), full decoder %v (%v)", b, got, got.Kind(), want, want.Kind())
		}
		if g, _ := got.AsBytes(); g == nil || cap(g) != len(g) {
			t.Fatalf("%x: bytes nil or with spare capacity %d", b, cap(g))
		}
	})
}
