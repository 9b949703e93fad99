package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// snapshot50 returns every file of dir (LOCK excluded: a writer's Open
// records its pid there) with a hash of its bytes.
func snapshot50(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string][32]byte{}
	for _, n := range names {
		if n.Name() == "LOCK" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n.Name()))
		require.NoError(t, err)
		out[n.Name()] = sha256.Sum256(b)
	}
	return out
}

// badWrites50 are write commands with bad input: each must exit 2 and,
// as cli.ExitUsage says, write nothing.
func badWrites50() [][]string {
	big := `"` + strings.Repeat("x", kv.DefaultMaxValueBytes+16) + `"` // over MaxValueBytes
	return [][]string{
		{"put", "", "1"},
		{"put", "a\x00b", "1"},
		{"-run", "", "put", "k", "1"},
		{"put", "k", big},
		{"incr", "", "1"},
		{"del", ""},
		{"drop-run", ""},
		{"fork", "src", ""},
	}
}

// Bad input exits 2, "bad usage or bad input (nothing was written)"
// (internal/cli ExitUsage), yet every write command opens the directory
// for writing before its key, run or value is checked: the Open writes a
// new segment and a new MANIFEST into an existing database.
func TestReview50BadInputWritesNothingToExistingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	require.Equal(t, 0, strata(t, "-dir", dir, "put", "src", "1").code)
	before := snapshot50(t, dir)
	var changed []string
	for _, args := range badWrites50() {
		r := strata(t, append([]string{"-dir", dir}, args...)...)
		require.Equal(t, cli.ExitUsage, r.code, "%.40q: %s", args, r.stderr)
		require.NotEmpty(t, r.stderr)
		if after := snapshot50(t, dir); len(after) != len(before) || !mapsEqual50(before, after) {
			changed = append(changed, fmt.Sprintf("%q", trim50(args)))
			before = after
		}
	}
	require.Empty(t, changed, "bad input (exit 2) changed the data directory (new segment / MANIFEST)")
}

// The same on a mistyped -dir: bad input creates a whole empty database
// (directory, segment, MANIFEST, LOCK) where there was nothing.
func TestReview50BadInputCreatesNoDatabase(t *testing.T) {
	root := t.TempDir()
	var created []string
	for i, args := range badWrites50() {
		if args[0] == "drop-run" || args[0] == "fork" {
			continue // these check that the directory exists first
		}
		dir := filepath.Join(root, "typo", string(rune('a'+i)))
		r := strata(t, append([]string{"-dir", dir}, args...)...)
		require.Equal(t, cli.ExitUsage, r.code, "%.40q: %s", args, r.stderr)
		if _, err := os.Stat(dir); err == nil {
			created = append(created, fmt.Sprintf("%q", trim50(args)))
		}
	}
	require.Empty(t, created, "bad input (exit 2) created a database at the -dir given")
}

// A read-only command (get, keys, ...) pointed at a directory that holds
// no database leaves a LOCK file behind in it.
func TestReview50ReadOnlyCommandsWriteNothing(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a database\n"), 0o644))
	for _, args := range [][]string{{"get", "k"}, {"keys"}, {"scan"}, {"history", "k"}, {"runs"}, {"stats"}} {
		strata(t, append([]string{"-dir", dir}, args...)...)
		names, err := os.ReadDir(dir)
		require.NoError(t, err)
		var got []string
		for _, n := range names {
			got = append(got, n.Name())
		}
		require.Equal(t, []string{"notes.txt"}, got, "read-only %q wrote into %s", args, dir)
	}
}

// A JSON string holding bytes that are not UTF-8 is stored as U+FFFD,
// exit 0: the value read back is not the value given. The value format
// has {"$string": "<base64>"} for such strings; the raw form should be
// refused (exit 2), never silently altered.
func TestReview50PutNonUTF8IsNotSilentlyAltered(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := strata(t, "-dir", dir, "put", "k", "\"a\xffb\"")
	if r.code == cli.ExitUsage {
		return // refused: fine
	}
	require.Equal(t, 0, r.code, r.stderr)
	r = strata(t, "-dir", dir, "-json", "get", "k")
	require.Equal(t, 0, r.code, r.stderr)
	var got versionJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	require.Equal(t, kv.String("a\xffb"), got.Value, "put exited 0 but stored %v", got.Value)
}

// One convention: "strata -h" and "strata help" print to stdout (exit 0),
// but "strata COMMAND -h" prints its help to stderr, so
// "strata scan -h | less" shows nothing.
func TestReview50CommandHelpGoesToStdout(t *testing.T) {
	top := strata(t, "-h")
	require.Equal(t, 0, top.code)
	require.NotEmpty(t, top.stdout, "top-level help is on stdout")
	for _, c := range []string{"put", "get", "scan", "changes", "compact"} {
		r := strata(t, c, "-h")
		require.Equal(t, 0, r.code, c)
		require.Contains(t, r.stdout, "usage: strata "+c, "%s -h: help asked for goes to stdout like strata -h (stderr had %d bytes)", c, len(r.stderr))
	}
}

// -limit means the same in every command: changes (and strata-inspect
// dump) refuse a negative one as bad usage (exit 2); scan, range, keys
// and history take it silently as "the default" or "all".
func TestReview50NegativeLimitIsBadUsageEverywhere(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	require.Equal(t, 0, strata(t, "-dir", dir, "put", "k", "1").code)
	require.Equal(t, cli.ExitUsage, strata(t, "-dir", dir, "changes", "-limit", "-1").code, "changes refuses it")
	var accepted []string
	for _, args := range [][]string{{"scan", "-limit", "-1"}, {"range", "-limit", "-1"}, {"keys", "-limit", "-1"}, {"history", "k", "-limit", "-1"}} {
		if r := strata(t, append([]string{"-dir", dir}, args...)...); r.code != cli.ExitUsage {
			accepted = append(accepted, strings.Join(args, " "))
		}
	}
	require.Empty(t, accepted, "a negative -limit accepted (exit 0) where changes exits 2")
}

func mapsEqual50(a, b map[string][32]byte) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// trim50 shortens long arguments for messages.
func trim50(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if len(a) > 20 {
			out[i] = a[:10] + "..."
		}
	}
	return out
}
