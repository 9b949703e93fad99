package kv

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// value_json.go: "so that UnmarshalJSON(MarshalJSON(v)) equals v for every
// value". An Object whose field name is not valid UTF-8 (Object accepts any
// string, as String does) must survive the JSON round trip.
func TestReview34JSONObjectKeyNotUTF8RoundTrips(t *testing.T) {
	v := Object(map[string]Value{"\xff": Int(1)})
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	var got Value
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("UnmarshalJSON(%s): %v", b, err)
	}
	if !got.Equal(v) {
		t.Fatalf("JSON round trip changed the value: %s -> %v, want %v", b, got, v)
	}
}

// The $object64 form nests, escapes an object whose only key is its name,
// and refuses keys that are not base64 or that decode to the same key.
func TestReview34JSONObject64Form(t *testing.T) {
	for _, v := range []Value{
		Array(Object(map[string]Value{"ok": Int(2), "\xfe\xff": Object(map[string]Value{"\xc3": Null()})})),
		Object(map[string]Value{"$object64": Int(1)}),
		Object(map[string]Value{"$object64": Object(map[string]Value{"\xff": Bool(true)})}),
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("MarshalJSON(%v): %v", v, err)
		}
		var got Value
		if err := json.Unmarshal(b, &got); err != nil || !got.Equal(v) {
			t.Fatalf("JSON round trip of %v: %s -> %v, %v", v, b, got, err)
		}
	}
	for _, bad := range []string{`{"$object64": {"not base64!": 1}}`, `{"$object64": {"AA==": 1, "AB==": 2}}`} {
		var got Value
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Fatalf("UnmarshalJSON(%s) = %v, want an error", bad, got)
		}
	}
}

// Review 34 saw UnmarshalJSON accept 129 nested empty arrays, a value
// Put refuses (MaxDepth 128): JSON now refuses what MarshalBinary would,
// and accepts the deepest value it takes.
func TestReview34JSONDepthAsMaxDepth(t *testing.T) {
	nest := func(n int, inner string) []byte {
		return []byte(strings.Repeat("[", n) + inner + strings.Repeat("]", n))
	}
	for _, inner := range []string{"", "1", "{}", `{"$bytes": "AA=="}`} {
		var v Value
		deepest := MaxDepth
		if inner == "{}" {
			deepest-- // the object is one level more
		}
		require.NoError(t, json.Unmarshal(nest(deepest, inner), &v), "depth %d", MaxDepth)
		_, err := v.MarshalBinary()
		require.NoError(t, err)
		err = json.Unmarshal(nest(deepest+1, inner), &v)
		require.Error(t, err, "%d arrays around %q", deepest+1, inner)
		var w Value
		if json.Unmarshal(nest(deepest+1, inner), &w) == nil {
			_, err := w.MarshalBinary()
			require.Error(t, err)
		}
	}
}
