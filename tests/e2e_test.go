// Package tests holds end-to-end tests: they build the commands and run
// them against real data directories, next to the kv API.
package tests

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// buildStrata compiles cmd/strata into a temporary directory.
func buildStrata(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "strata")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/strata").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

func TestCLIAndLibraryShareADirectory(t *testing.T) {
	bin := buildStrata(t)
	dir := filepath.Join(t.TempDir(), "data")
	cli := func(args ...string) (string, int) {
		cmd := exec.Command(bin, append([]string{"-dir", dir}, args...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return string(out), code
	}

	out, code := cli("demo")
	require.Equal(t, 0, code, out)
	out, code = cli("-run", "tool", "put", "config", `{"retries": 3}`)
	require.Equal(t, 0, code, out)

	// The library sees what the CLI wrote, history included.
	db, err := kv.Open(dir, &kv.Options{ReadOnly: true})
	require.NoError(t, err)
	got, ok, err := db.Get("tool", "config")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, `{"retries": 3}`, got.Value.String())
	h, err := db.History("agent-alpha", "plan", 0, 0)
	require.NoError(t, err)
	require.Len(t, h, 5)
	// A reader shares the directory with other readers but not with a writer.
	out, code = cli("-run", "tool", "get", "config")
	require.Equal(t, 0, code, out)
	out, code = cli("-run", "tool", "put", "config", "1")
	require.Equal(t, 1, code)
	require.Contains(t, out, "locked")
	require.NoError(t, db.Close())

	// And the other way round.
	db, err = kv.Open(dir, &kv.Options{Durability: kv.Strict})
	require.NoError(t, err)
	_, err = db.Put("tool", "config", kv.Int(7))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	out, code = cli("-run", "tool", "history", "config")
	require.Equal(t, 0, code, out)
	require.Equal(t, 3, strings.Count(out, "\n"), out) // header + 2 versions
}
