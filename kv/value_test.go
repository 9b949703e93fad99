package kv

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func nested(depth int) Value {
	v := Int(1)
	for i := 0; i < depth; i++ {
		if i%2 == 0 {
			v = Array(v)
		} else {
			v = Object(map[string]Value{"x": v})
		}
	}
	return v
}

// sameValue compares values strictly: like Equal, but floats bit for bit
// (so NaN payloads and -0.0 count) and Bytes(nil) vs empty ignored.
func sameValue(t *testing.T, want, got Value) {
	t.Helper()
	require.Equal(t, want.Kind(), got.Kind())
	switch want.Kind() {
	case KindFloat:
		require.Equal(t, math.Float64bits(must2(want.AsFloat())), math.Float64bits(must2(got.AsFloat())))
	case KindArray:
		w, _ := want.AsArray()
		g, _ := got.AsArray()
		require.Len(t, g, len(w))
		for i := range w {
			sameValue(t, w[i], g[i])
		}
	case KindObject:
		w, _ := want.AsObject()
		g, _ := got.AsObject()
		require.Len(t, g, len(w))
		for k := range w {
			sameValue(t, w[k], g[k])
		}
	default:
		require.True(t, want.Equal(got), "want %v, got %v", want, got)
	}
}

func must2[T any](v T, _ bool) T { return v }

var roundTripValues = map[string]Value{
	"null":              Null(),
	"zero value":        {},
	"false":             Bool(false),
	"true":              Bool(true),
	"int 0":             Int(0),
	"int -1":            Int(-1),
	"int max":           Int(math.MaxInt64),
	"int min":           Int(math.MinInt64),
	"float 1.5":         Float(1.5),
	"float -0":          Float(math.Copysign(0, -1)),
	"float +inf":        Float(math.Inf(1)),
	"float -inf":        Float(math.Inf(-1)),
	"float nan":         Float(math.NaN()),
	"float nan payload": Float(math.Float64frombits(0x7ff8_0000_dead_beef)),
	"float tiny":        Float(math.SmallestNonzeroFloat64),
	"string":            String("héllo"),
	"empty string":      String(""),
	"bad utf8":          String("\xff\x00\xfe"),
	"bytes":             Bytes([]byte{0, 1, 2, 255}),
	"empty bytes":       Bytes(nil),
	"empty array":       Array(),
	"empty object":      Object(nil),
	"array":             Array(Int(1), String("two"), Null(), Array(Bool(true))),
	"object":            Object(map[string]Value{"": Int(0), "b": Float(2), "a": Object(map[string]Value{"z": Bytes([]byte("x"))})}),
	"deep 128":          nested(128),
	"long string":       String(strings.Repeat("abc", 100000)),
}

func TestValueRoundTrip(t *testing.T) {
	for name, v := range roundTripValues {
		t.Run(name, func(t *testing.T) {
			b, err := v.MarshalBinary()
			require.NoError(t, err)
			var got Value
			require.NoError(t, got.UnmarshalBinary(b))
			sameValue(t, v, got)
			again, err := got.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, b, again, "one encoding per value")
		})
	}
}

func TestValueEncodingTable(t *testing.T) {
	tests := []struct {
		v    Value
		want []byte
	}{
		{Null(), []byte{0}},
		{Bool(false), []byte{1}},
		{Bool(true), []byte{2}},
		{Int(0), []byte{3, 0}},
		{Int(-1), []byte{3, 1}},
		{Int(1), []byte{3, 2}},
		{Int(-65), []byte{3, 0x81, 0x01}},
		{Float(1), []byte{4, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
		{String("ab"), []byte{5, 2, 'a', 'b'}},
		{Bytes([]byte{9}), []byte{6, 1, 9}},
		{Array(Null(), Bool(true)), []byte{7, 2, 0, 2}},
		{Object(map[string]Value{"b": Null(), "a": Int(1)}), []byte{8, 2, 1, 'a', 3, 2, 1, 'b', 0}},
	}
	for _, tc := range tests {
		got, err := tc.v.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, tc.want, got, tc.v.String())
	}
}

func TestValueDecodeRejects(t *testing.T) {
	bad := map[string][]byte{
		"empty":            {},
		"unknown tag":      {9},
		"trailing":         {0, 0},
		"truncated int":    {3},
		"padded varint":    {3, 0x80, 0x00},
		"truncated float":  {4, 0, 0},
		"string too long":  {5, 5, 'a'},
		"huge count":       {7, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"array short":      {7, 2, 0},
		"object unsorted":  {8, 2, 1, 'b', 0, 1, 'a', 0},
		"object duplicate": {8, 2, 1, 'a', 0, 1, 'a', 0},
		"object key cut":   {8, 1, 5, 'a'},
		"varint overflow":  {3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	}
	for name, b := range bad {
		var v Value
		require.Error(t, v.UnmarshalBinary(b), name)
	}
	// Nesting deeper than MaxDepth is refused both ways.
	_, err := nested(129).MarshalBinary()
	require.ErrorIs(t, err, ErrInvalidValue)
	deep := make([]byte, 0, 300)
	for i := 0; i < 129; i++ {
		deep = append(deep, tagArray, 1)
	}
	deep = append(deep, tagNull)
	var v Value
	require.Error(t, v.UnmarshalBinary(deep))
	require.NoError(t, v.UnmarshalBinary(deep[2:]))
}

func TestValueEqual(t *testing.T) {
	nan := Float(math.NaN())
	tests := []struct {
		a, b Value
		want bool
	}{
		{Int(1), Float(1), false},
		{Bytes([]byte("a")), String("a"), false},
		{nan, nan, false},
		{Float(0), Float(math.Copysign(0, -1)), true},
		{Bytes(nil), Bytes([]byte{}), true},
		{Null(), Value{}, true},
		{Array(Int(1), Int(2)), Array(Int(1), Int(2)), true},
		{Array(Int(1), Int(2)), Array(Int(2), Int(1)), false},
		{Array(Int(1)), Array(Int(1), Int(1)), false},
		{Object(map[string]Value{"a": Int(1)}), Object(map[string]Value{"a": Int(1)}), true},
		{Object(map[string]Value{"a": Int(1)}), Object(map[string]Value{"b": Int(1)}), false},
		{Object(map[string]Value{"a": Int(1)}), Object(map[string]Value{"a": Int(1), "b": Null()}), false},
		{Object(nil), Object(map[string]Value{}), true},
		{Array(), Object(nil), false},
		{Bool(true), Bool(true), true},
		{Bool(true), Bool(false), false},
		{String("x"), String("x"), true},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, tc.a.Equal(tc.b), "%v == %v", tc.a, tc.b)
		require.Equal(t, tc.want, tc.b.Equal(tc.a), "%v == %v", tc.b, tc.a)
	}
}

func TestValueAccessorsAndString(t *testing.T) {
	b, ok := Bool(true).AsBool()
	require.True(t, ok)
	require.True(t, b)
	_, ok = Int(1).AsBool()
	require.False(t, ok)
	i, ok := Int(-7).AsInt()
	require.True(t, ok)
	require.EqualValues(t, -7, i)
	_, ok = Float(1).AsInt()
	require.False(t, ok)
	_, ok = Int(1).AsFloat()
	require.False(t, ok)
	s, ok := String("s").AsString()
	require.True(t, ok)
	require.Equal(t, "s", s)
	raw, ok := Bytes(nil).AsBytes()
	require.True(t, ok)
	require.NotNil(t, raw)
	arr, ok := Array().AsArray()
	require.True(t, ok)
	require.NotNil(t, arr)
	obj, ok := Object(nil).AsObject()
	require.True(t, ok)
	require.NotNil(t, obj)
	_, ok = Null().AsObject()
	require.False(t, ok)

	// Constructors copy their inputs.
	src := []byte("abc")
	bv := Bytes(src)
	src[0] = 'X'
	got, _ := bv.AsBytes()
	require.Equal(t, "abc", string(got))
	m := map[string]Value{"a": Int(1)}
	ov := Object(m)
	m["b"] = Int(2)
	got2, _ := ov.AsObject()
	require.Len(t, got2, 1)

	require.Equal(t, `{"a": [1, 2.0, "x", b64"AAE=", null, true], "b": NaN}`,
		Object(map[string]Value{"b": Float(math.NaN()), "a": Array(Int(1), Float(2), String("x"), Bytes([]byte{0, 1}), Null(), Bool(true))}).String())
	require.Equal(t, "-Inf", Float(math.Inf(-1)).String())
	require.Equal(t, "1e+21", Float(1e21).String())
	require.Equal(t, "int", KindInt.String())
	require.Equal(t, "kind(42)", Kind(42).String())
}

// valueSize, which MPut uses to check the values of entries a later
// entry overwrites, agrees with the encoder on every value: its length,
// and its error.
func TestValueSizeAgreesWithTheEncoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var gen func(depth int) Value
	gen = func(depth int) Value {
		switch k := rng.IntN(8); {
		case k == 0:
			return Null()
		case k == 1:
			return Bool(rng.IntN(2) == 0)
		case k == 2:
			return Int(int64(rng.Uint64()) >> rng.IntN(64))
		case k == 3:
			return Float(rng.Float64())
		case k == 4:
			return String(strings.Repeat("s", rng.IntN(300)))
		case k == 5:
			return Bytes(make([]byte, rng.IntN(20000)))
		case k == 6 && depth < 4:
			items := make([]Value, rng.IntN(5))
			for i := range items {
				items[i] = gen(depth + 1)
			}
			return Array(items...)
		case depth < 4:
			fields := map[string]Value{}
			for range rng.IntN(5) {
				fields[strings.Repeat("k", rng.IntN(200))] = gen(depth + 1)
			}
			return Object(fields)
		}
		return Int(1)
	}
	for range 2000 {
		v := gen(0)
		b, err := appendValue(nil, v, 0)
		require.NoError(t, err)
		n, err := valueSize(v, 0)
		require.NoError(t, err)
		require.Equal(t, len(b), n, "%v", v)
	}
	deep := Int(0)
	for range MaxDepth + 1 {
		deep = Object(map[string]Value{"a": deep})
	}
	_, err := appendValue(nil, deep, 0)
	_, err2 := valueSize(deep, 0)
	require.Error(t, err)
	require.Equal(t, err, err2)
}
