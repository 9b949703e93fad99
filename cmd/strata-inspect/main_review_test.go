package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// A directory whose only file is a MANIFEST listing a segment: Open
// refuses it as corrupt (kv.ErrCorrupt, which strata exits 4 for), but
// strata-inspect verify exits 1 ("holds no segment files"), not 4.
func TestReviewVerifyManifestOnlyExitsCorrupt(t *testing.T) {
	src := filepath.Join("..", "..", "recovery", "testdata", "fixtures", "missing-listed", "MANIFEST")
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "MANIFEST"), b, 0o600))

	_, err = kv.Open(dir, &kv.Options{ReadOnly: true})
	require.ErrorIs(t, err, kv.ErrCorrupt, "Open refuses it")
	require.Equal(t, cli.ExitCorrupt, cli.ExitCode(err))

	r := inspect(t, "verify", dir)
	require.Equal(t, cli.ExitCorrupt, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
}
