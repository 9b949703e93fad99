package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/segment"
)

// Review 59: issue 6 has salvage move damaged files aside ("<name>.damaged-
// <unix>") for forensics, and `dump -hex` show the bytes of a damaged
// frame. Once a salvage has run, the damaged frame lives only in the file
// moved aside, and dump cannot read it: the ".damaged-<unix>" name is not
// a segment file name, so dump takes it for a directory ("not a
// directory", exit 1).
func TestReview59DumpHexOfAFileMovedAside(t *testing.T) {
	dir, db := makeDB(t)
	require.NoError(t, db.Close())
	segs := segFiles(t, dir)
	b, err := os.ReadFile(segs[1])
	require.NoError(t, err)
	b[segment.HeaderSize+4] = 0xEE
	require.NoError(t, os.WriteFile(segs[1], b, 0o600))
	r := inspect(t, "salvage", "-apply", dir)
	require.Equal(t, cli.ExitOK, r.code, r.stdout+r.stderr)
	moved, err := filepath.Glob(filepath.Join(dir, filepath.Base(segs[1])+".damaged-*"))
	require.NoError(t, err)
	require.Len(t, moved, 1)

	r = inspect(t, "dump", "-hex", moved[0])
	require.NotEqual(t, cli.ExitError, r.code, "dump of the file salvage moved aside fails: %s", r.stderr)
	require.Contains(t, r.stdout, fmt.Sprintf("bytes from offset %d:", segment.HeaderSize), "the damaged bytes are shown")
}
