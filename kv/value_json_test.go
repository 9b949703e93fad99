package kv

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValueJSONRoundTrip(t *testing.T) {
	values := append([]Value{
		Float(2), Float(math.Copysign(0, -1)), Float(1e300), Float(math.NaN()), Float(math.Inf(1)),
		Object(map[string]Value{"$bytes": String("AAE=")}),
		Object(map[string]Value{"$object": Int(1)}),
		Object(map[string]Value{"$string": String("x")}),
		Object(map[string]Value{"$float": Null(), "x": Int(1)}),
	}, func() []Value {
		var vs []Value
		for _, v := range roundTripValues {
			vs = append(vs, v)
		}
		return vs
	}()...)
	for _, v := range values {
		b, err := json.Marshal(v)
		require.NoError(t, err, "%v", v)
		var back Value
		require.NoError(t, json.Unmarshal(b, &back), "%s", b)
		sameValue(t, v, back)
	}
}

func TestValueJSONForms(t *testing.T) {
	for in, want := range map[string]Value{
		`null`:                       Null(),
		`[1, 2.5, "x", true]`:        Array(Int(1), Float(2.5), String("x"), Bool(true)),
		`{"$bytes": "AAE="}`:         Bytes([]byte{0, 1}),
		`{"$float": "2"}`:            Float(2),
		`{"$float": "-Inf"}`:         Float(math.Inf(-1)),
		`{"$object": {"$bytes": 1}}`: Object(map[string]Value{"$bytes": Int(1)}),
		`{"a": {"b": []}}`:           Object(map[string]Value{"a": Object(map[string]Value{"b": Array()})}),
		`1e3`:                        Float(1000),
	} {
		var v Value
		require.NoError(t, json.Unmarshal([]byte(in), &v), in)
		require.True(t, want.Equal(v), "%s: got %v", in, v)
	}
	for _, bad := range []string{`99999999999999999999`, `{"$bytes": "%%"}`, `{"$float": "x"}`, `1 2`, `[`} {
		var v Value
		require.Error(t, v.UnmarshalJSON([]byte(bad)), bad)
	}
	b, err := json.Marshal(Object(map[string]Value{"b": Bytes([]byte("hi")), "a": Float(0.5)}))
	require.NoError(t, err)
	require.JSONEq(t, `{"a": 0.5, "b": {"$bytes": "aGk="}}`, string(b))
}
