package replica

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// settleDirs finishes or undoes whatever swap a crash interrupted; each
// case is the directory a crash between two of swapIn's or putBack's
// steps leaves, and which database must come out of it.
func TestSettleDirs(t *testing.T) {
	for _, tc := range []struct {
		name string
		has  []string // directories present, each holding a file named after it
		want string   // whose file dbDir holds after settleDirs
	}{
		{"nothing to do", []string{dbDir}, dbDir},
		{"staged, swap not begun", []string{dbDir, stagedDir}, dbDir},
		{"between swapIn's renames", []string{oldDir, stagedDir}, stagedDir},
		{"swapped, old not removed", []string{dbDir, oldDir}, dbDir},
		{"putBack moved the snapshot aside", []string{oldDir, failedDir}, oldDir},
		{"putBack done, failed not removed", []string{dbDir, failedDir}, dbDir},
		{"a snapshot's checkpoint left", []string{dbDir, snapshotPrefix + "123"}, dbDir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range tc.has {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(dir, d, "from-"+d), nil, 0o644))
			}
			n := &Node{cfg: Config{Dir: dir}}
			require.NoError(t, n.settleDirs())
			ents, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, ents, 1, "only the database is left")
			require.Equal(t, dbDir, ents[0].Name())
			require.FileExists(t, filepath.Join(dir, dbDir, "from-"+tc.want))
		})
	}
}
