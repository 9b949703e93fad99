package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/cli"
)

// compact drops what its retention flags let go, says how much in text
// or JSON, and refuses bad flags and a missing directory with nothing
// written.
func TestCompact(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := strata(t, "-dir", dir, "compact")
	require.Equal(t, cli.ExitError, r.code, "no database: %s", r.stdout)
	_, err := os.Stat(dir)
	require.True(t, os.IsNotExist(err), "compact created %s", dir)

	for _, v := range []string{"1", "2", "3"} {
		require.Equal(t, 0, strata(t, "-dir", dir, "put", "k", v).code)
	}
	require.Equal(t, 0, strata(t, "-dir", dir, "put", "other", "9").code)

	for _, bad := range [][]string{{"-keep-versions", "-1"}, {"-keep-for", "-1s"}, {"-keep-for", "soon"}, {"extra"}} {
		r = strata(t, append([]string{"-dir", dir, "compact"}, bad...)...)
		require.Equal(t, cli.ExitUsage, r.code, "%v: %s", bad, r.stdout)
	}
	r = strata(t, "-dir", dir, "history", "k")
	require.Equal(t, 0, r.code, r.stderr)
	require.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 1+3, "bad flags dropped nothing: %s", r.stdout)

	r = strata(t, "-dir", dir, "compact") // everything kept: nothing to drop
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "0 versions dropped")
	require.Contains(t, r.stderr, "compacting")

	r = strata(t, "-dir", dir, "-json", "compact", "-keep-versions", "1")
	require.Equal(t, 0, r.code, r.stderr)
	var st struct {
		In      int   `json:"segments_in"`
		Out     int   `json:"segments_out"`
		Dropped int64 `json:"versions_dropped"`
		Freed   int64 `json:"bytes_reclaimed"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st), r.stdout)
	require.EqualValues(t, 2, st.Dropped, "k's two older versions")
	require.Positive(t, st.In)
	require.Positive(t, st.Freed)
	require.Empty(t, r.stderr, "-json prints nothing else")

	r = strata(t, "-dir", dir, "history", "k")
	require.Equal(t, 0, r.code, r.stderr)
	require.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 1+1, r.stdout)
	r = strata(t, "-dir", dir, "get", "k")
	require.Equal(t, "3", strings.TrimSpace(r.stdout))
	r = strata(t, "-dir", dir, "get", "other")
	require.Equal(t, "9", strings.TrimSpace(r.stdout))
}
