package fuzz

import (
	"testing"

	"github.com/strata-kv/strata/kv"
)

// FuzzValueJSON: any text given to Value.UnmarshalJSON fails cleanly or
// yields a value whose JSON form reads back as the same value.
func FuzzValueJSON(f *testing.F) {
	for _, s := range []string{`null`, `[1, 2.5, "x"]`, `{"$bytes": "AAE="}`, `{"$float": "NaN(0x7ff80000deadbeef)"}`,
		`{"$object": {"$string": "x"}}`, `{"$string": "/w=="}`, `{"$object64": {"/w==": {"$object64": {"YQ==": 1}}}}`, `{"a": {"b": [true, false, -0.0]}}`, `1e400`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v kv.Value
		if err := v.UnmarshalJSON(data); err != nil {
			return
		}
		b, err := v.MarshalJSON()
		if err != nil {
			t.Fatalf("%v does not marshal: %v", v, err)
		}
		var back kv.Value
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatalf("%s does not read back: %v", b, err)
		}
		if !sameValue(v, back) {
			t.Fatalf("%s -> %v -> %s -> %v", data, v, b, back)
		}
	})
}
