package kv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON form of values. Null, Bool, String, Array and Object map to their
// JSON counterparts, an Int to a JSON integer and a Float to a JSON number
// with a point or exponent. What JSON cannot say directly is spelled with
// one-key objects:
//
//	{"$bytes": "<base64>"}          a Bytes value
//	{"$float": "NaN"}               a Float that JSON numbers cannot hold, or
//	                                one that would read back as an Int (2.0):
//	                                "NaN", "+Inf", "-Inf" or the number; a
//	                                NaN with another payload as
//	                                "NaN(0x7ff80000deadbeef)" (its bits)
//	{"$string": "<base64>"}         a String that is not valid UTF-8 (JSON
//	                                strings are text)
//	{"$object": {...}}              an Object whose only key is "$bytes",
//	                                "$float", "$string", "$object" or
//	                                "$object64" (so it is not mistaken for
//	                                one of these forms)
//	{"$object64": {"<base64>": ...}} an Object with a key that is not valid
//	                                UTF-8: every key in base64 (JSON keys
//	                                are text)
//
// so that UnmarshalJSON(MarshalJSON(v)) equals v for every value.

// MarshalJSON encodes v in the JSON form described above.
func (v Value) MarshalJSON() ([]byte, error) {
	return json.Marshal(v.jsonTree())
}

func (v Value) jsonTree() any {
	switch v.kind {
	case KindBool:
		return v.num == 1
	case KindInt:
		return int64(v.num)
	case KindFloat:
		f := math.Float64frombits(v.num)
		if math.IsNaN(f) && v.num != math.Float64bits(math.NaN()) {
			// Keep the payload: every float round-trips bit for bit.
			return map[string]string{"$float": fmt.Sprintf("NaN(0x%016x)", v.num)}
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || (f == math.Trunc(f) && math.Abs(f) < 1e21) {
			return map[string]string{"$float": formatFloat(f)}
		}
		return f
	case KindString:
		if !utf8.ValidString(v.str()) {
			return map[string]string{"$string": base64.StdEncoding.EncodeToString([]byte(v.str()))}
		}
		return v.str()
	case KindBytes:
		return map[string]string{"$bytes": base64.StdEncoding.EncodeToString(v.raw())}
	case KindArray:
		out := make([]any, len(v.arr()))
		for i, x := range v.arr() {
			out[i] = x.jsonTree()
		}
		return out
	case KindObject:
		out := make(map[string]any, len(v.obj()))
		for k := range v.obj() {
			if !utf8.ValidString(k) {
				for k, x := range v.obj() {
					out[base64.StdEncoding.EncodeToString([]byte(k))] = x.jsonTree()
				}
				return map[string]any{"$object64": out}
			}
		}
		for k, x := range v.obj() {
			out[k] = x.jsonTree()
		}
		if len(out) == 1 && isJSONEscapeKey(v.obj()) {
			return map[string]any{"$object": out}
		}
		return out
	}
	return nil
}

func isJSONEscapeKey(m map[string]Value) bool {
	for k := range m {
		return k == "$bytes" || k == "$float" || k == "$string" || k == "$object" || k == "$object64"
	}
	return false
}

var (
	errJSON = errors.New("strata: bad JSON value")
	errDeep = fmt.Errorf("%w: nested deeper than %d", errJSON, MaxDepth)
)

// UnmarshalJSON decodes the JSON form described above. Integers that do
// not fit in an int64 are an error (write 1e30 or 1.0 for a Float).
func (v *Value) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return fmt.Errorf("%w: %v", errJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: text after the value", errJSON)
	}
	out, err := fromJSONTree(x, 0)
	if err != nil {
		return err
	}
	*v = out
	return nil
}

// fromJSONTree decodes x, found inside depth arrays and objects.
func fromJSONTree(x any, depth int) (Value, error) {
	// An array or object here is depth+1 deep, even empty: refused at
	// MaxDepth (errDeep).
	switch x := x.(type) {
	case nil:
		return Null(), nil
	case bool:
		return Bool(x), nil
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return Value{}, fmt.Errorf("%w: integer %s does not fit in 64 bits (write %s.0 for a float)", errJSON, s, s)
			}
			return Int(i), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%w: number %s: %v", errJSON, s, err)
		}
		return Float(f), nil
	case string:
		return String(x), nil
	case []any:
		if depth >= MaxDepth {
			return Value{}, errDeep
		}
		items := make([]Value, len(x))
		for i, item := range x {
			v, err := fromJSONTree(item, depth+1)
			if err != nil {
				return Value{}, err
			}
			items[i] = v
		}
		return arrayValue(items), nil
	case map[string]any:
		if len(x) == 1 {
			if s, ok := x["$bytes"].(string); ok {
				raw, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return Value{}, fmt.Errorf("%w: $bytes is not base64: %v", errJSON, err)
				}
				return Bytes(raw), nil
			}
			if s, ok := x["$float"].(string); ok {
				return parseFloatName(s)
			}
			if s, ok := x["$string"].(string); ok {
				raw, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return Value{}, fmt.Errorf("%w: $string is not base64: %v", errJSON, err)
				}
				return String(string(raw)), nil
			}
			if inner, ok := x["$object"].(map[string]any); ok {
				x = inner // its fields as they are, whatever their names
			} else if inner, ok := x["$object64"].(map[string]any); ok {
				if depth >= MaxDepth {
					return Value{}, errDeep
				}
				return objectFromJSON64(inner, depth)
			}
		}
		if depth >= MaxDepth {
			return Value{}, errDeep
		}
		fields := make(map[string]Value, len(x))
		for k, item := range x {
			v, err := fromJSONTree(item, depth+1)
			if err != nil {
				return Value{}, err
			}
			fields[k] = v
		}
		return objectValue(fields), nil
	}
	return Value{}, fmt.Errorf("%w: unsupported %T", errJSON, x)
}

// objectFromJSON64 decodes the fields of an $object64 form, whose keys
// are base64.
func objectFromJSON64(x map[string]any, depth int) (Value, error) {
	fields := make(map[string]Value, len(x))
	for k64, item := range x {
		k, err := base64.StdEncoding.DecodeString(k64)
		if err != nil {
			return Value{}, fmt.Errorf("%w: $object64 key %q is not base64: %v", errJSON, k64, err)
		}
		if _, dup := fields[string(k)]; dup {
			return Value{}, fmt.Errorf("%w: $object64 holds key %q twice", errJSON, k)
		}
		v, err := fromJSONTree(item, depth+1)
		if err != nil {
			return Value{}, err
		}
		fields[string(k)] = v
	}
	return objectValue(fields), nil
}

func parseFloatName(s string) (Value, error) {
	switch s {
	case "NaN":
		return Float(math.NaN()), nil
	case "+Inf", "Inf":
		return Float(math.Inf(1)), nil
	case "-Inf":
		return Float(math.Inf(-1)), nil
	}
	if hex, ok := strings.CutPrefix(s, "NaN("); ok && strings.HasSuffix(hex, ")") {
		bits, err := strconv.ParseUint(strings.TrimSuffix(hex, ")"), 0, 64)
		if err != nil || !math.IsNaN(math.Float64frombits(bits)) {
			return Value{}, fmt.Errorf("%w: bad $float %q", errJSON, s)
		}
		return Value{kind: KindFloat, num: bits}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Value{}, fmt.Errorf("%w: bad $float %q", errJSON, s)
	}
	return Float(f), nil
}
