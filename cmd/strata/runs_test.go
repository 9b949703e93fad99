package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/cli"
)

func TestRangeRunsCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, k := range []string{"a", "b", "c", "d"} {
		require.Equal(t, 0, strata(t, "-dir", dir, "-run", "job", "put", k, `"`+k+`"`).code)
	}
	require.Equal(t, 0, strata(t, "-dir", dir, "-run", "other", "put", "x", "1").code)

	r := strata(t, "-dir", dir, "-run", "job", "range", "b", "d")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "b ")
	require.Contains(t, r.stdout, "c ")
	require.NotContains(t, r.stdout, "d ")

	r = strata(t, "-dir", dir, "-run", "job", "-json", "range", "-reverse", "-limit", "2")
	require.Equal(t, 0, r.code, r.stderr)
	var page struct {
		Entries []versionJSON `json:"entries"`
		Cursor  string        `json:"cursor"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page))
	require.Len(t, page.Entries, 2)
	require.Equal(t, "d", page.Entries[0].Key)
	require.Equal(t, "c", page.Entries[1].Key)
	require.NotEmpty(t, page.Cursor)
	r = strata(t, "-dir", dir, "-run", "job", "-json", "range", "-reverse", "-limit", "2", "-cursor", page.Cursor)
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page))
	require.Equal(t, "b", page.Entries[0].Key)
	require.Equal(t, "a", page.Entries[1].Key)
	require.Empty(t, page.Cursor)

	require.Equal(t, cli.ExitUsage, strata(t, "-dir", dir, "range", "z", "a").code, "start after end")
	require.Equal(t, cli.ExitUsage, strata(t, "-dir", dir, "range", "a", "b", "c").code)

	r = strata(t, "-dir", dir, "runs")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "job\nother\n", r.stdout)
	r = strata(t, "-dir", dir, "-json", "runs")
	require.Equal(t, 0, r.code, r.stderr)
	var runs []string
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs))
	require.Equal(t, []string{"job", "other"}, runs)

	cp := filepath.Join(t.TempDir(), "cp")
	r = strata(t, "-dir", dir, "-json", "checkpoint", cp)
	require.Equal(t, 0, r.code, r.stderr)
	var out struct {
		Dir     string `json:"dir"`
		Version uint64 `json:"version"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.EqualValues(t, 5, out.Version)
	r = strata(t, "-dir", cp, "-run", "job", "get", "c")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, `"c"`, strings.TrimSpace(r.stdout))
	r = strata(t, "-dir", dir, "checkpoint", cp)
	require.Equal(t, cli.ExitError, r.code, "the destination exists")
	require.Contains(t, r.stderr, "exists")
}

func TestDropRunAndFork(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, k := range []string{"a", "b"} {
		require.Equal(t, 0, strata(t, "-dir", dir, "-run", "src", "put", k, "1").code)
	}
	r := strata(t, "-dir", dir, "-json", "fork", "src", "dst")
	require.Equal(t, 0, r.code, r.stderr)
	var out struct {
		Version uint64 `json:"version"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.EqualValues(t, 3, out.Version)
	r = strata(t, "-dir", dir, "-run", "dst", "keys")
	require.Equal(t, "a\nb\n", r.stdout)
	require.Equal(t, cli.ExitUsage, strata(t, "-dir", dir, "fork", "src", "dst").code, "dst holds live keys")
	r = strata(t, "-dir", dir, "-json", "drop-run", "src")
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.EqualValues(t, 4, out.Version)
	r = strata(t, "-dir", dir, "runs")
	require.Equal(t, "dst\n", r.stdout)
	r = strata(t, "-dir", dir, "drop-run", "src")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, "nothing dropped")
	require.Equal(t, 0, strata(t, "-dir", dir, "fork", "-at", "2", "dst", "again").code)
	r = strata(t, "-dir", dir, "-run", "again", "keys")
	require.Equal(t, "", r.stdout, "dst was empty at version 2")
}
