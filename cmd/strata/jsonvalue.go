package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/strata-kv/strata/kv"
)

// parseValue turns JSON text into a Value (see the package doc for the
// $bytes and $float forms).
func parseValue(text string) (kv.Value, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return kv.Value{}, usagef("value is not valid JSON: %v (quote strings: '\"text\"')", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return kv.Value{}, usagef("value has text after the JSON")
	}
	return fromJSON(x)
}

func fromJSON(x any) (kv.Value, error) {
	switch x := x.(type) {
	case nil:
		return kv.Null(), nil
	case bool:
		return kv.Bool(x), nil
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return kv.Value{}, usagef("integer %s does not fit in 64 bits (write %s.0 for a float)", s, s)
			}
			return kv.Int(i), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return kv.Value{}, usagef("bad number %s: %v", s, err)
		}
		return kv.Float(f), nil
	case string:
		return kv.String(x), nil
	case []any:
		items := make([]kv.Value, len(x))
		for i, item := range x {
			v, err := fromJSON(item)
			if err != nil {
				return kv.Value{}, err
			}
			items[i] = v
		}
		return kv.Array(items...), nil
	case map[string]any:
		if len(x) == 1 {
			if b, ok := x["$bytes"].(string); ok {
				raw, err := base64.StdEncoding.DecodeString(b)
				if err != nil {
					return kv.Value{}, usagef("$bytes is not base64: %v", err)
				}
				return kv.Bytes(raw), nil
			}
			if s, ok := x["$float"].(string); ok {
				return parseFloatName(s)
			}
		}
		fields := make(map[string]kv.Value, len(x))
		for k, item := range x {
			v, err := fromJSON(item)
			if err != nil {
				return kv.Value{}, err
			}
			fields[k] = v
		}
		return kv.Object(fields), nil
	}
	return kv.Value{}, usagef("unsupported JSON value %T", x)
}

func parseFloatName(s string) (kv.Value, error) {
	switch s {
	case "NaN":
		return kv.Float(math.NaN()), nil
	case "+Inf", "Inf":
		return kv.Float(math.Inf(1)), nil
	case "-Inf":
		return kv.Float(math.Inf(-1)), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return kv.Value{}, usagef("bad $float %q", s)
	}
	return kv.Float(f), nil
}

// toJSON returns a JSON-encodable form of v that parseValue reads back
// as the same value.
func toJSON(v kv.Value) any {
	switch v.Kind() {
	case kv.KindBool:
		b, _ := v.AsBool()
		return b
	case kv.KindInt:
		i, _ := v.AsInt()
		return i
	case kv.KindFloat:
		f, _ := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) || f == math.Trunc(f) && math.Abs(f) < 1e21 {
			// Non-finite, or integral (json would print 2 and read back an Int).
			return map[string]string{"$float": kv.FormatFloat(f)}
		}
		return f
	case kv.KindString:
		s, _ := v.AsString()
		return s
	case kv.KindBytes:
		b, _ := v.AsBytes()
		return map[string]string{"$bytes": base64.StdEncoding.EncodeToString(b)}
	case kv.KindArray:
		items, _ := v.AsArray()
		out := make([]any, len(items))
		for i, item := range items {
			out[i] = toJSON(item)
		}
		return out
	case kv.KindObject:
		fields, _ := v.AsObject()
		out := make(map[string]any, len(fields))
		for k, f := range fields {
			out[k] = toJSON(f)
		}
		return out
	}
	return nil
}

// versionJSON is the -json form of one version.
type versionJSON struct {
	Run       string `json:"run"`
	Key       string `json:"key"`
	Version   uint64 `json:"version"`
	Timestamp string `json:"timestamp"`
	Deleted   bool   `json:"deleted,omitempty"`
	Kind      string `json:"kind"`
	Value     any    `json:"value"`
}

func toVersionJSON(run kv.RunID, key string, v kv.Versioned) versionJSON {
	return versionJSON{
		Run: string(run), Key: key, Version: uint64(v.Version),
		Timestamp: v.Timestamp.Format(time.RFC3339Nano), Deleted: v.Deleted,
		Kind: v.Value.Kind().String(), Value: toJSON(v.Value),
	}
}

func writeJSON(w io.Writer, x any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(x); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func formatTime(t time.Time) string { return t.Format("2006-01-02 15:04:05.000000Z") }
