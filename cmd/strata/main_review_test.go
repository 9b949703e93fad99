package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/cli"
)

// A misspelled flag before the arguments ("del -forse k") was a usage
// error (exit 2) before the change; Interleave now keeps it as an
// argument, so del deletes a key named "-forse" and exits 0. Only an
// argument that is not a flag-like name (a negative number) should stay
// an argument.
func TestReviewMisspelledFlagIsUsageError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := strata(t, "-dir", dir, "put", "k", "1")
	require.Equal(t, 0, r.code, r.stderr)

	r = strata(t, "-dir", dir, "del", "-forse", "k")
	require.Equal(t, cli.ExitUsage, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
}
