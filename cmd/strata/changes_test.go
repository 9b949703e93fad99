package main

import (
	"bufio"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/cli"
)

func TestChangesAndDiff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, kvp := range [][2]string{{"a", "1"}, {"b", "2"}, {"a", "3"}} {
		require.Equal(t, 0, strata(t, "-dir", dir, "-run", "r", "put", kvp[0], kvp[1]).code)
	}
	require.Equal(t, 0, strata(t, "-dir", dir, "-run", "r", "del", "b").code)
	require.Equal(t, 0, strata(t, "-dir", dir, "-run", "other", "put", "z", "0").code)

	r := strata(t, "-dir", dir, "-run", "r", "changes")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 4)
	require.True(t, strings.HasPrefix(lines[3], "4\t"), lines[3])
	require.Contains(t, lines[3], "(deleted)")

	r = strata(t, "-dir", dir, "-run", "r", "-json", "changes", "-after", "1", "-limit", "2")
	require.Equal(t, 0, r.code, r.stderr)
	var cs []versionJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &cs))
	require.Len(t, cs, 2)
	require.EqualValues(t, 2, cs[0].Version)
	require.Equal(t, "b", cs[0].Key)

	r = strata(t, "-dir", dir, "-run", "r", "-json", "diff", "1", "4")
	require.Equal(t, 0, r.code, r.stderr)
	var d []versionJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d))
	require.Len(t, d, 1, "b was written and deleted in between; a changed")
	require.Equal(t, "a", d[0].Key)
	require.EqualValues(t, 3, d[0].Version)
	require.Equal(t, cli.ExitUsage, strata(t, "-dir", dir, "diff", "x", "1").code)
	require.Equal(t, cli.ExitUsage, strata(t, "-dir", dir, "changes", "-every", "0", "-follow").code)
}

// changes -follow prints each change as another process (here: another
// strata call) commits it, taking the directory only to look.
func TestChangesFollow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	require.Equal(t, 0, strata(t, "-dir", dir, "-run", "r", "put", "k", "0").code)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		var errb strings.Builder
		done <- run([]string{"-dir", dir, "-run", "r", "-json", "-wait", "5s", "changes", "-follow", "-every", "5ms", "-n", "4"}, pw, &errb)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var got []versionJSON
	for i := 1; i <= 3; i++ {
		require.True(t, sc.Scan(), "change %d", len(got)+1)
		var c versionJSON
		require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
		got = append(got, c)
		r := strata(t, "-dir", dir, "-run", "r", "-wait", "5s", "put", "k", strings.Repeat("1", i))
		require.Equal(t, 0, r.code, r.stderr)
	}
	require.True(t, sc.Scan())
	var c versionJSON
	require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
	got = append(got, c)
	require.Equal(t, 0, <-done)
	for i, c := range got {
		require.EqualValues(t, i+1, c.Version)
	}
}
