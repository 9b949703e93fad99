package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

type result struct {
	code           int
	stdout, stderr string
}

func strata(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

func TestPutGetHistoryDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := strata(t, "-dir", dir, "put", "k", `{"a": [1, 2.5, "x", {"$bytes": "AAE="}], "b": null}`)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "version 1")

	r = strata(t, "-dir", dir, "get", "k")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, `{"a": [1, 2.5, "x", b64"AAE="], "b": null}`+"\n", r.stdout)

	// Flags may follow the command too.
	r = strata(t, "put", "-dir", dir, "k", "2")
	require.Equal(t, 0, r.code, r.stderr)
	r = strata(t, "-dir", dir, "history", "k")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3)
	require.True(t, strings.HasPrefix(lines[1], "2 "), lines[1])

	r = strata(t, "-dir", dir, "-json", "get", "-at", "1", "k")
	require.Equal(t, 0, r.code, r.stderr)
	var got versionJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	require.EqualValues(t, 1, got.Version)
	require.Equal(t, "object", got.Kind)

	r = strata(t, "-dir", dir, "del", "k", "missing")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "deleted 1 of 2")
	r = strata(t, "-dir", dir, "get", "k")
	require.Equal(t, cli.ExitNotFound, r.code)
	require.Contains(t, r.stderr, "not found")
	r = strata(t, "-dir", dir, "get", "-at", "3", "k")
	require.Equal(t, cli.ExitNotFound, r.code)

	r = strata(t, "-dir", dir, "-json", "history", "k")
	require.Equal(t, 0, r.code, r.stderr)
	var hist []versionJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &hist))
	require.Len(t, hist, 3)
	require.True(t, hist[0].Deleted)
}

func TestJSONRoundTripsEveryKind(t *testing.T) {
	values := []kv.Value{
		kv.Null(), kv.Bool(true), kv.Int(-3), kv.Float(2), kv.Float(0.25), kv.Float(math.Inf(-1)),
		kv.String("s"), kv.Bytes([]byte{1, 2}), kv.Array(kv.Float(1), kv.Int(1)),
		kv.Object(map[string]kv.Value{"x": kv.Bytes(nil)}),
	}
	for _, v := range values {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		back, err := parseValue(string(b))
		require.NoError(t, err, string(b))
		require.True(t, v.Equal(back), "%v -> %s -> %v", v, b, back)
	}
	nan, err := parseValue(`{"$float": "NaN"}`)
	require.NoError(t, err)
	f, _ := nan.AsFloat()
	require.True(t, math.IsNaN(f))
}

func TestScanKeysIncr(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"a", "b", "c"} {
		require.Equal(t, 0, strata(t, "-dir", dir, "-run", "r1", "put", k, `"`+k+`"`).code)
	}
	r := strata(t, "-dir", dir, "-run", "r1", "scan", "-limit", "2")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "a ")
	require.NotContains(t, r.stdout, "c ")
	require.Contains(t, r.stderr, "more: strata scan -cursor")
	r = strata(t, "-dir", dir, "-run", "r1", "-json", "scan", "-limit", "2", "-all")
	require.Equal(t, 0, r.code, r.stderr)
	var page struct {
		Entries []versionJSON
		Cursor  string
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page))
	require.Len(t, page.Entries, 3)
	require.Empty(t, page.Cursor)

	r = strata(t, "-dir", dir, "-run", "r1", "keys")
	require.Equal(t, "a\nb\nc\n", r.stdout)
	r = strata(t, "-dir", dir, "-run", "r2", "keys")
	require.Equal(t, "", r.stdout, "runs are separate")

	r = strata(t, "-dir", dir, "-json", "stats")
	require.Equal(t, 0, r.code, r.stderr)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st))
	require.EqualValues(t, 3, st["keys"])
	require.EqualValues(t, 3, st["last_version"])
	require.Contains(t, strata(t, "-dir", dir, "stats").stdout, "3 live keys")

	require.Equal(t, "5\n", strata(t, "-dir", dir, "incr", "n", "5").stdout)
	require.Equal(t, "4\n", strata(t, "-dir", dir, "incr", "n", "-1").stdout)
	r = strata(t, "-dir", dir, "-run", "r1", "incr", "a")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "wrong value type")
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"-dir", dir, "frobnicate"},
		{"-dir", dir, "put", "k"},
		{"-dir", dir, "put", "k", "not json"},
		{"-dir", dir, "put", "k", "1 2"},
		{"-dir", dir, "put", "k", "99999999999999999999"},
		{"-dir", dir, "put", "-bytes", "k", "%%%"},
		{"-dir", dir, "put", "_strata/x", "1"},
		{"-dir", dir, "-run", "", "put", "k", "1"},
		{"-dir", dir, "incr", "k", "x"},
		{"-dir", dir, "get"},
		{"-nosuchflag"},
	} {
		r := strata(t, args...)
		require.Equal(t, cli.ExitUsage, r.code, "%v: %s", args, r.stderr)
		require.NotEmpty(t, r.stderr)
	}
	r := strata(t, "-dir", filepath.Join(dir, "nothing-here"), "get", "k")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "no data directory")
	require.Equal(t, 0, strata(t, "-h").code)
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	r := strata(t, "-dir", dir, "demo")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "History of agent-alpha/plan")
	require.Contains(t, r.stdout, "Time travel")
	require.Contains(t, r.stdout, `plan         v9    "fix the bug"`)
	require.Contains(t, r.stdout, "The data is in")
	// Running it again appends to the same runs.
	r = strata(t, "-dir", dir, "demo")
	require.Equal(t, 0, r.code, r.stderr)
	r = strata(t, "-dir", dir, "-run", "agent-alpha", "-json", "history", "plan")
	var hist []versionJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &hist))
	require.Len(t, hist, 10)
}

// Open's repairs are reported on stderr: a read-only command leaves a torn
// tail and says so, a writing one cuts it and says so.
func TestRecoveryIsReported(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	require.Equal(t, 0, strata(t, "-dir", dir, "put", "k", "1").code)
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.NoError(t, err)
	require.Len(t, segs, 1)
	f, err := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("0123456789")) // a torn write: garbage where a frame should start
	require.NoError(t, err)
	require.NoError(t, f.Close())

	r := strata(t, "-dir", dir, "get", "k")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "recovery: ignored a torn write of 10 bytes")
	r = strata(t, "-dir", dir, "put", "k", "2")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "recovery: cut a torn write of 10 bytes")
	r = strata(t, "-dir", dir, "get", "k")
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, r.stderr, "recovery", "nothing left to repair")
	require.Equal(t, "2\n", r.stdout)
}
