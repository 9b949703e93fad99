package kv

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"unsafe"
)

// Review 14: the in-place decoder gives what the decoder it replaced
// gave, values and errors alike, with and without an arena.
func TestDecodeIntoMatchesOld_review14(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 14))
	var gen func(depth int) Value
	gen = func(depth int) Value {
		switch k := r.IntN(9); {
		case k == 0:
			return Null()
		case k == 1:
			return Bool(r.IntN(2) == 0)
		case k == 2:
			return Int(int64(r.Uint64()))
		case k == 3:
			return Float(r.NormFloat64())
		case k == 4:
			b := make([]byte, r.IntN(6))
			return String(string(b))
		case k == 5:
			b := make([]byte, r.IntN(6))
			return Bytes(b)
		case k == 6 && depth < 5:
			items := make([]Value, r.IntN(4))
			for i := range items {
				items[i] = gen(depth + 1)
			}
			return Array(items...)
		case k >= 7 && depth < 5:
			m := map[string]Value{}
			for i := r.IntN(4); i > 0; i-- {
				m[fmt.Sprint("k", r.IntN(10))] = gen(depth + 1)
			}
			return Object(m)
		}
		return Int(1)
	}
	check := func(b []byte) {
		for _, useMem := range []bool{false, true} {
			var m1, m2 *arena
			if useMem {
				m1, m2 = &arena{}, &arena{}
			}
			d := valueDecoder{b: b, mem: m1}
			want, werr := d.oldValue(0)
			if werr == nil && d.off != len(b) {
				werr = fmt.Errorf("%w: %d bytes after the value", errBadEncoding, len(b)-d.off)
				want = Value{}
			}
			got, gerr := decodeValueIn(b, m2)
			if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
				t.Fatalf("%x: errors %v vs %v", b, werr, gerr)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%x: %#v vs %#v", b, want, got)
			}
		}
	}
	for i := 0; i < 20000; i++ {
		v := gen(0)
		b, err := v.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		check(b)
		got, err := decodeValue(b)
		if err != nil || !reflect.DeepEqual(v, got) {
			t.Fatalf("%v: round trip %#v vs %#v (%v)", v, v, got, err)
		}
		// damaged copies
		for j := 0; j < 4; j++ {
			c := append([]byte(nil), b...)
			switch r.IntN(3) {
			case 0:
				c[r.IntN(len(c))] ^= byte(1 << r.IntN(8))
			case 1:
				c = c[:r.IntN(len(c)+1)]
			case 2:
				c = append(c, byte(r.IntN(256)))
			}
			check(c)
		}
	}
}

func (d *valueDecoder) oldValue(depth int) (Value, error) {
	if d.off >= len(d.b) {
		return Value{}, fmt.Errorf("%w: truncated at %d", errBadEncoding, d.off)
	}
	tag := d.b[d.off]
	d.off++
	switch tag {
	case tagNull:
		return Value{}, nil
	case tagFalse:
		return Bool(false), nil
	case tagTrue:
		return Bool(true), nil
	case tagInt:
		u, err := d.uvarint()
		if err != nil {
			return Value{}, err
		}
		return Int(int64(u>>1) ^ -int64(u&1)), nil
	case tagFloat:
		if len(d.b)-d.off < 8 {
			return Value{}, fmt.Errorf("%w: truncated float at %d", errBadEncoding, d.off)
		}
		bits := binary.LittleEndian.Uint64(d.b[d.off:])
		d.off += 8
		return Value{kind: KindFloat, num: bits}, nil
	case tagString, tagBytes:
		n, err := d.length(1)
		if err != nil {
			return Value{}, err
		}
		p := d.b[d.off : d.off+n]
		d.off += n
		if d.mem != nil {
			c := d.mem.copy(p)
			if tag == tagString {
				return stringValue(unsafe.String(unsafe.SliceData(c), len(c))), nil
			}
			return bytesValue(c), nil
		}
		if tag == tagString {
			return String(string(p)), nil
		}
		return Bytes(p), nil
	case tagArray:
		if depth >= MaxDepth {
			return Value{}, fmt.Errorf("%w: nested deeper than %d", errBadEncoding, MaxDepth)
		}
		n, err := d.length(1)
		if err != nil {
			return Value{}, err
		}
		items := make([]Value, n)
		for i := range items {
			if items[i], err = d.oldValue(depth + 1); err != nil {
				return Value{}, err
			}
		}
		return arrayValue(items), nil
	case tagObject:
		if depth >= MaxDepth {
			return Value{}, fmt.Errorf("%w: nested deeper than %d", errBadEncoding, MaxDepth)
		}
		n, err := d.length(2)
		if err != nil {
			return Value{}, err
		}
		m := make(map[string]Value, n)
		prev := ""
		for i := 0; i < n; i++ {
			kl, err := d.length(1)
			if err != nil {
				return Value{}, err
			}
			var k string
			if d.mem != nil {
				c := d.mem.copy(d.b[d.off : d.off+kl])
				k = unsafe.String(unsafe.SliceData(c), len(c))
			} else {
				k = string(d.b[d.off : d.off+kl])
			}
			d.off += kl
			if i > 0 && k <= prev {
				return Value{}, fmt.Errorf("%w: object keys out of order at %d", errBadEncoding, d.off)
			}
			prev = k
			if m[k], err = d.oldValue(depth + 1); err != nil {
				return Value{}, err
			}
		}
		return objectValue(m), nil
	}
	return Value{}, fmt.Errorf("%w: unknown tag %d at %d", errBadEncoding, tag, d.off-1)
}
