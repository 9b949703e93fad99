package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Review 61: issue 3 promises `dump FILE|DIR`. A segment file given by a
// path whose name is not NNNNNNNNNN.seg (a copy kept for forensics,
// "evidence.seg") is refused with "open ...: not a directory", exit 1:
// neither its frames nor an error that says what is wrong with the name.
func TestReview61DumpSegmentFileUnderAnotherName(t *testing.T) {
	dir, db := makeDB(t)
	require.NoError(t, db.Close())
	seg := segFiles(t, dir)[0]
	b, err := os.ReadFile(seg)
	require.NoError(t, err)
	copyPath := filepath.Join(t.TempDir(), "evidence.seg")
	require.NoError(t, os.WriteFile(copyPath, b, 0o600))

	// The same bytes under their own name dump fine.
	r := inspect(t, "dump", seg)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "version 1,")

	r = inspect(t, "dump", copyPath)
	require.NotContains(t, r.stderr, "not a directory", "dump FILE of a segment copy: an unclear error")
	require.Equal(t, 0, r.code, "dump FILE of a segment copy: stdout %q stderr %q", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "version 1,")
}
