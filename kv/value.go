package kv

import (
	"bytes"
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// Kind is the type of a Value.
type Kind uint8

// The eight kinds of Value.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
	KindBytes
	KindArray
	KindObject
)

var kindNames = [...]string{"null", "bool", "int", "float", "string", "bytes", "array", "object"}

// String returns the kind's lowercase name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a typed value: Null, Bool, Int, Float, String, Bytes, Array or
// Object. The zero Value is Null. Values are immutable once built: the
// constructors copy what they are given, and the slices and maps that the
// As methods return belong to the Value and must not be modified.
//
// A Value takes 40 bytes (a Versioned 80), where a field for each kind
// made it 88 (and a Versioned 128): pages and histories are that much
// smaller. Bytes are held in the string field (the kind tells them
// apart), arrays and objects behind one pointer. reflect.DeepEqual (and
// so testify's Equal) still compares what the fields hold, not where.
type Value struct {
	_    [0]func() // not comparable with ==: use Equal
	kind Kind
	num  uint64     // Bool (0/1), Int (two's complement), Float (IEEE-754 bits)
	s    string     // the bytes of a String or Bytes
	agg  *aggregate // an Array's items or an Object's fields
}

// aggregate is what an Array or Object value holds.
type aggregate struct {
	items  []Value
	fields map[string]Value
}

// stringValue, bytesValue, arrayValue and objectValue make the Value of
// s, b, items and m without copying them (the caller gives them up).
func stringValue(s string) Value { return Value{kind: KindString, s: s} }

func bytesValue(b []byte) Value {
	return Value{kind: KindBytes, s: unsafe.String(unsafe.SliceData(b), len(b))}
}

func arrayValue(items []Value) Value {
	if len(items) == 0 {
		items = nil // one empty array, however it was made
	}
	// No spare capacity: an append to what AsArray returns reallocates,
	// so holders of one Value never write over each other's items.
	return Value{kind: KindArray, agg: &aggregate{items: slices.Clip(items)}}
}

func objectValue(m map[string]Value) Value {
	return Value{kind: KindObject, agg: &aggregate{fields: m}}
}

// str, raw, arr and obj return what a String, Bytes, Array or Object
// value holds ("", nil or a nil map for other kinds; raw is nil for
// empty bytes).
func (v *Value) str() string {
	if v.kind != KindString {
		return ""
	}
	return v.s
}

func (v *Value) raw() []byte {
	if v.kind != KindBytes || len(v.s) == 0 {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(v.s), len(v.s))
}

func (v *Value) arr() []Value {
	if v.kind != KindArray || v.agg == nil {
		return nil
	}
	return v.agg.items
}

func (v *Value) obj() map[string]Value {
	if v.kind != KindObject || v.agg == nil {
		return nil
	}
	return v.agg.fields
}

// MaxDepth is the deepest nesting of arrays and objects a stored value may
// have: a scalar has depth 0, Array(Int(1)) depth 1.
const MaxDepth = 128

// Null returns the Null value.
func Null() Value { return Value{} }

// Bool returns a Bool value.
func Bool(b bool) Value {
	v := Value{kind: KindBool}
	if b {
		v.num = 1
	}
	return v
}

// Int returns an Int value.
func Int(i int64) Value { return Value{kind: KindInt, num: uint64(i)} }

// Float returns a Float value. Every float64, NaN payloads included, is
// stored bit for bit.
func Float(f float64) Value { return Value{kind: KindFloat, num: math.Float64bits(f)} }

// String returns a String value. s may hold any bytes; they round-trip
// exactly.
func String(s string) Value { return stringValue(s) }

// Bytes returns a Bytes value holding a copy of b. Bytes(nil) and
// Bytes([]byte{}) are the same value: empty bytes.
func Bytes(b []byte) Value {
	return bytesValue(bytes.Clone(b))
}

// Array returns an Array value holding a copy of the list of items.
func Array(items ...Value) Value {
	return arrayValue(slices.Clone(items))
}

// Object returns an Object value holding a copy of fields. A nil map gives
// the empty object.
func Object(fields map[string]Value) Value {
	m := make(map[string]Value, len(fields))
	for k, f := range fields {
		m[k] = f
	}
	return objectValue(m)
}

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// AsBool returns the value of a Bool; ok is false for other kinds.
func (v Value) AsBool() (b bool, ok bool) { return v.num == 1, v.kind == KindBool }

// AsInt returns the value of an Int; ok is false for other kinds.
func (v Value) AsInt() (int64, bool) {
	if v.kind != KindInt {
		return 0, false
	}
	return int64(v.num), true
}

// AsFloat returns the value of a Float; ok is false for other kinds (an
// Int is not converted).
func (v Value) AsFloat() (float64, bool) {
	if v.kind != KindFloat {
		return 0, false
	}
	return math.Float64frombits(v.num), true
}

// AsString returns the value of a String; ok is false for other kinds.
func (v Value) AsString() (string, bool) { return v.str(), v.kind == KindString }

// AsBytes returns the bytes of a Bytes value (never nil for one); ok is
// false for other kinds. The slice belongs to the Value: do not modify it.
func (v Value) AsBytes() ([]byte, bool) {
	if v.kind != KindBytes {
		return nil, false
	}
	if b := v.raw(); b != nil {
		return b, true
	}
	return []byte{}, true
}

// AsArray returns the items of an Array (never nil for one); ok is false
// for other kinds. The slice belongs to the Value: do not modify it.
func (v Value) AsArray() ([]Value, bool) {
	if v.kind != KindArray {
		return nil, false
	}
	if a := v.arr(); a != nil {
		return a, true
	}
	return []Value{}, true
}

// AsObject returns the fields of an Object (never nil for one); ok is
// false for other kinds. The map belongs to the Value: do not modify it.
func (v Value) AsObject() (map[string]Value, bool) {
	if v.kind != KindObject {
		return nil, false
	}
	if o := v.obj(); o != nil {
		return o, true
	}
	return map[string]Value{}, true
}

// Equal reports whether v and o are equal: same kind (Int(1) is not
// Float(1)), floats compared by IEEE-754 (NaN is unequal to everything,
// itself included; -0.0 equals 0.0), arrays element by element, objects by
// key set and values. Bytes(nil) equals Bytes([]byte{}).
func (v Value) Equal(o Value) bool {
	if v.kind != o.kind {
		return false
	}
	switch v.kind {
	case KindNull:
		return true
	case KindBool, KindInt:
		return v.num == o.num
	case KindFloat:
		return math.Float64frombits(v.num) == math.Float64frombits(o.num)
	case KindString:
		return v.str() == o.str()
	case KindBytes:
		return bytes.Equal(v.raw(), o.raw())
	case KindArray:
		return slices.EqualFunc(v.arr(), o.arr(), Value.Equal)
	case KindObject:
		vo, oo := v.obj(), o.obj()
		if len(vo) != len(oo) {
			return false
		}
		for k, x := range vo {
			y, ok := oo[k]
			if !ok || !x.Equal(y) {
				return false
			}
		}
		return true
	}
	return false
}

// String returns a human-readable, JSON-like rendering: null, true, 42,
// 1.5 (floats always show a point or exponent; NaN and ±Inf by name),
// quoted strings, bytes as b64"...", [a, b] and {"k": v} with keys sorted.
func (v Value) String() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

func (v Value) write(b *strings.Builder) {
	switch v.kind {
	case KindNull:
		b.WriteString("null")
	case KindBool:
		b.WriteString(strconv.FormatBool(v.num == 1))
	case KindInt:
		b.WriteString(strconv.FormatInt(int64(v.num), 10))
	case KindFloat:
		b.WriteString(formatFloat(math.Float64frombits(v.num)))
	case KindString:
		b.WriteString(strconv.Quote(v.str()))
	case KindBytes:
		b.WriteString(`b64"`)
		b.WriteString(base64.StdEncoding.EncodeToString(v.raw()))
		b.WriteByte('"')
	case KindArray:
		b.WriteByte('[')
		for i, x := range v.arr() {
			if i > 0 {
				b.WriteString(", ")
			}
			x.write(b)
		}
		b.WriteByte(']')
	case KindObject:
		b.WriteByte('{')
		o := v.obj()
		for i, k := range sortedKeys(o) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(k))
			b.WriteString(": ")
			o[k].write(b)
		}
		b.WriteByte('}')
	}
}

// formatFloat renders f so that it reads back as a float: it always has a
// point or an exponent ("1.0", "1e+21"), and NaN, +Inf and -Inf by name.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func sortedKeys(m map[string]Value) []string {
	return appendSortedKeys(make([]string, 0, len(m)), m)
}

// appendSortedKeys appends m's keys to dst, sorted.
func appendSortedKeys(dst []string, m map[string]Value) []string {
	keys := dst
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys[len(dst):])
	return keys
}
