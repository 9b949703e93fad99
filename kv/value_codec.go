package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unsafe"
)

// The value encoding, stored (possibly compressed) as an entry's value
// bytes in segment frames. A value is a tag byte and a payload:
//
//	tag  kind    payload
//	0    Null    -
//	1    Bool    - (false)
//	2    Bool    - (true)
//	3    Int     zigzag uvarint
//	4    Float   8 bytes, IEEE-754 bits, little endian
//	5    String  uvarint length, bytes
//	6    Bytes   uvarint length, bytes
//	7    Array   uvarint count, count values
//	8    Object  uvarint count, count × (uvarint key length, key bytes, value),
//	             keys in strictly increasing bytewise order
//
// Uvarints are minimal (the decoder rejects padded ones) and object keys
// sorted, so each value has exactly one encoding. The decoder never
// allocates from a count or length it has not checked against the bytes
// that remain, and refuses nesting deeper than MaxDepth.
const (
	tagNull = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagBytes
	tagArray
	tagObject
)

var errDepth = fmt.Errorf("%w: nested deeper than %d", ErrInvalidValue, MaxDepth)

// MarshalBinary returns the value's encoding (see the table above). It
// fails with ErrInvalidValue for values nested deeper than MaxDepth.
func (v Value) MarshalBinary() ([]byte, error) { return appendValue(nil, v, 0) }

// UnmarshalBinary decodes data produced by MarshalBinary into v. Damaged
// or foreign bytes give an error, never a panic.
func (v *Value) UnmarshalBinary(data []byte) error {
	d, err := decodeValue(data)
	if err != nil {
		return err
	}
	*v = d
	return nil
}

func appendUvarint(dst []byte, x uint64) []byte { return binary.AppendUvarint(dst, x) }

func appendValue(dst []byte, v Value, depth int) ([]byte, error) {
	switch v.kind {
	case KindNull:
		return append(dst, tagNull), nil
	case KindBool:
		if v.num == 1 {
			return append(dst, tagTrue), nil
		}
		return append(dst, tagFalse), nil
	case KindInt:
		i := int64(v.num)
		return appendUvarint(append(dst, tagInt), uint64(i<<1)^uint64(i>>63)), nil
	case KindFloat:
		return binary.LittleEndian.AppendUint64(append(dst, tagFloat), v.num), nil
	case KindString:
		dst = appendUvarint(append(dst, tagString), uint64(len(v.str())))
		return append(dst, v.str()...), nil
	case KindBytes:
		dst = appendUvarint(append(dst, tagBytes), uint64(len(v.raw())))
		return append(dst, v.raw()...), nil
	case KindArray:
		if depth >= MaxDepth {
			return nil, errDepth
		}
		dst = appendUvarint(append(dst, tagArray), uint64(len(v.arr())))
		var err error
		for _, x := range v.arr() {
			if dst, err = appendValue(dst, x, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case KindObject:
		if depth >= MaxDepth {
			return nil, errDepth
		}
		dst = appendUvarint(append(dst, tagObject), uint64(len(v.obj())))
		var err error
		var small [8]string // objects of up to 8 fields sort without allocating
		for _, k := range appendSortedKeys(small[:0], v.obj()) {
			dst = appendUvarint(dst, uint64(len(k)))
			dst = append(dst, k...)
			if dst, err = appendValue(dst, v.obj()[k], depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%w: unknown kind %d", ErrInvalidValue, v.kind)
}

// valueSize returns the length of v's encoding and the error appendValue
// would return, encoding nothing.
func valueSize(v Value, depth int) (int, error) {
	switch v.kind {
	case KindNull, KindBool:
		return 1, nil
	case KindInt:
		i := int64(v.num)
		return 1 + uvarintLen(uint64(i<<1)^uint64(i>>63)), nil
	case KindFloat:
		return 9, nil
	case KindString:
		return 1 + uvarintLen(uint64(len(v.str()))) + len(v.str()), nil
	case KindBytes:
		return 1 + uvarintLen(uint64(len(v.raw()))) + len(v.raw()), nil
	case KindArray, KindObject:
		if depth >= MaxDepth {
			return 0, errDepth
		}
		n := 1 + uvarintLen(uint64(len(v.arr())+len(v.obj())))
		for _, x := range v.arr() {
			m, err := valueSize(x, depth+1)
			if err != nil {
				return 0, err
			}
			n += m
		}
		for k, x := range v.obj() {
			m, err := valueSize(x, depth+1)
			if err != nil {
				return 0, err
			}
			n += uvarintLen(uint64(len(k))) + len(k) + m
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: unknown kind %d", ErrInvalidValue, v.kind)
}

// uvarintLen returns the bytes of x as a uvarint.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

var errBadEncoding = errors.New("strata: bad value encoding")

type valueDecoder struct {
	b   []byte
	off int
	mem *arena // where strings and byte values are copied (nil: each its own)
}

func decodeValue(b []byte) (Value, error) { return decodeValueIn(b, nil) }

// decodeValueIn is decodeValue with the bytes of strings and byte values
// copied into mem (nil: each its own allocation), so that decoding many
// values costs a few allocations, not one each.
func decodeValueIn(b []byte, mem *arena) (Value, error) {
	var v Value
	if err := decodeValueInto(&v, b, mem); err != nil {
		return Value{}, err
	}
	return v, nil
}

// decodeValueInto is decodeValueIn writing the value into *dst (left
// undefined on error).
func decodeValueInto(dst *Value, b []byte, mem *arena) error {
	d := valueDecoder{b: b, mem: mem}
	if err := d.into(dst, 0); err != nil {
		return err
	}
	if d.off != len(b) {
		return fmt.Errorf("%w: %d bytes after the value", errBadEncoding, len(b)-d.off)
	}
	return nil
}

// decodeBytesInto decodes b into *dst if b is a whole Bytes value, its
// bytes copied into mem, and reports whether it was; for any other b it
// leaves *dst as it is, for the full decoder (which says what is wrong
// with b, if anything).
func decodeBytesInto(dst *Value, b []byte, mem *arena) bool {
	if len(b) < 2 || b[0] != tagBytes {
		return false
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || k != uvarintLen(n) || n != uint64(len(b)-1-k) {
		return false
	}
	*dst = bytesValue(mem.copy(b[1+k:]))
	return true
}

// arena hands out copies of byte strings from shared chunks: one
// allocation for the keys or values of a page instead of one each. A
// copy is never written again (strings may view it); its capacity ends
// with it, so an append to a byte value reallocates. Holding one copy
// keeps its chunk alive.
//
// What one copy keeps alive is bounded: copies of more than arenaChunk
// bytes get memory of their own, and a chunk is at most arenaMax bytes.
type arena struct {
	buf  []byte
	want int // bytes reserve announced and copies have not taken yet
}

const (
	// arenaChunk is the least size of a chunk, and the most a copy
	// shares one.
	arenaChunk = 4 << 10
	// arenaMax is the most reserve makes a chunk.
	arenaMax = 64 << 10
)

func (a *arena) copy(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	if len(b) > arenaChunk {
		return append(make([]byte, 0, len(b)), b...)
	}
	if len(b) > cap(a.buf)-len(a.buf) {
		a.buf = make([]byte, 0, max(arenaChunk, min(a.want, arenaMax)))
	}
	a.want -= len(b)
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[n:len(a.buf):len(a.buf)]
}

// reset makes the arena's current chunk free for new copies: what it
// handed out before is overwritten by what it hands out next. Only for
// an arena whose copies are views valid until then (see HistoryFunc).
func (a *arena) reset() { a.buf, a.want = a.buf[:0], 0 }

// reserve says the next copies (of at most arenaChunk bytes each) come to
// about n bytes: they come from chunks of up to arenaMax bytes sized to
// what is still announced, so that no chunk is much larger than a page
// needs and few are made.
func (a *arena) reserve(n int) {
	a.want = n
	if n = min(n, arenaMax); n > cap(a.buf)-len(a.buf) {
		a.buf = make([]byte, 0, n)
	}
}

// str returns a copy of s from the arena.
func (a *arena) str(s string) string {
	c := a.copy(unsafe.Slice(unsafe.StringData(s), len(s)))
	return unsafe.String(unsafe.SliceData(c), len(c))
}

func (d *valueDecoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		return 0, fmt.Errorf("%w: bad varint at %d", errBadEncoding, d.off)
	}
	if n > 1 && d.b[d.off+n-1] == 0 {
		return 0, fmt.Errorf("%w: padded varint at %d", errBadEncoding, d.off)
	}
	d.off += n
	return x, nil
}

// length reads a length or count and checks that at least min bytes per
// unit remain.
func (d *valueDecoder) length(min int) (int, error) {
	x, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if x > uint64(len(d.b)-d.off)/uint64(min) {
		return 0, fmt.Errorf("%w: length %d at %d exceeds the %d bytes left", errBadEncoding, x, d.off, len(d.b)-d.off)
	}
	return int(x), nil
}

// into decodes the next value into *dst, written in place: a Value is 88
// bytes, and returning it through the calls up to a page's entry copied
// it (with write barriers, while the collector runs) more than decoding
// it cost. On error *dst is left undefined.
func (d *valueDecoder) into(dst *Value, depth int) error {
	if d.off >= len(d.b) {
		return fmt.Errorf("%w: truncated at %d", errBadEncoding, d.off)
	}
	tag := d.b[d.off]
	d.off++
	switch tag {
	case tagNull:
		*dst = Value{}
		return nil
	case tagFalse:
		*dst = Value{kind: KindBool}
		return nil
	case tagTrue:
		*dst = Value{kind: KindBool, num: 1}
		return nil
	case tagInt:
		u, err := d.uvarint()
		if err != nil {
			return err
		}
		*dst = Value{kind: KindInt, num: uint64(int64(u>>1) ^ -int64(u&1))}
		return nil
	case tagFloat:
		if len(d.b)-d.off < 8 {
			return fmt.Errorf("%w: truncated float at %d", errBadEncoding, d.off)
		}
		bits := binary.LittleEndian.Uint64(d.b[d.off:])
		d.off += 8
		*dst = Value{kind: KindFloat, num: bits}
		return nil
	case tagString, tagBytes:
		n, err := d.length(1)
		if err != nil {
			return err
		}
		p := d.b[d.off : d.off+n]
		d.off += n
		if d.mem != nil {
			c := d.mem.copy(p)
			if tag == tagString {
				*dst = stringValue(unsafe.String(unsafe.SliceData(c), len(c)))
			} else {
				*dst = bytesValue(c)
			}
			return nil
		}
		if tag == tagString {
			*dst = String(string(p))
		} else {
			*dst = Bytes(p)
		}
		return nil
	case tagArray:
		if depth >= MaxDepth {
			return fmt.Errorf("%w: nested deeper than %d", errBadEncoding, MaxDepth)
		}
		n, err := d.length(1)
		if err != nil {
			return err
		}
		items := make([]Value, n)
		for i := range items {
			if err := d.into(&items[i], depth+1); err != nil {
				return err
			}
		}
		*dst = arrayValue(items)
		return nil
	case tagObject:
		if depth >= MaxDepth {
			return fmt.Errorf("%w: nested deeper than %d", errBadEncoding, MaxDepth)
		}
		n, err := d.length(2)
		if err != nil {
			return err
		}
		m := make(map[string]Value, n)
		prev := ""
		for i := 0; i < n; i++ {
			kl, err := d.length(1)
			if err != nil {
				return err
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
				return fmt.Errorf("%w: object keys out of order at %d", errBadEncoding, d.off)
			}
			prev = k
			var v Value
			if err := d.into(&v, depth+1); err != nil {
				return err
			}
			m[k] = v
		}
		*dst = objectValue(m)
		return nil
	}
	return fmt.Errorf("%w: unknown tag %d at %d", errBadEncoding, tag, d.off-1)
}
