package main

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// parseValue turns JSON text into a Value (see kv.Value.UnmarshalJSON
// for the $bytes and $float forms).
func parseValue(text string) (kv.Value, error) {
	// encoding/json would store U+FFFD for each invalid byte.
	if !utf8.ValidString(text) {
		return kv.Value{}, cli.Usagef("value is not valid UTF-8 (JSON is text): give bytes with put -bytes (base64) or {\"$bytes\": \"<base64>\"}, a string that is not UTF-8 as {\"$string\": \"<base64>\"}")
	}
	var v kv.Value
	if err := v.UnmarshalJSON([]byte(text)); err != nil {
		return kv.Value{}, cli.Usagef("value %s (strings need JSON quotes: '\"text\"')", strings.TrimPrefix(err.Error(), "strata: "))
	}
	return v, nil
}

// versionJSON is the -json form of one version.
type versionJSON struct {
	Run       string   `json:"run"`
	Key       string   `json:"key"`
	Version   uint64   `json:"version"`
	Timestamp string   `json:"timestamp"`
	Deleted   bool     `json:"deleted,omitempty"`
	Kind      string   `json:"kind"`
	Value     kv.Value `json:"value"`
}

func toVersionJSON(run kv.RunID, key string, v kv.Versioned) versionJSON {
	return versionJSON{
		Run: string(run), Key: key, Version: uint64(v.Version),
		Timestamp: v.Timestamp.Format(time.RFC3339Nano), Deleted: v.Deleted,
		Kind: v.Value.Kind().String(), Value: v.Value,
	}
}

func formatTime(t time.Time) string { return t.Format("2006-01-02 15:04:05.000000Z") }
