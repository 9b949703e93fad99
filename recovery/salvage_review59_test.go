package recovery

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// Review 59: a salvage "never deletes anything". Segments moved aside
// get a ".N" suffix when "<name>.damaged-<unix>" is taken; a damaged
// MANIFEST is renamed to "MANIFEST.damaged-<unix>" without that check,
// so a second salvage of a damaged manifest within the same second
// replaces (deletes) the copy the first one set aside.
func TestReview59SalvageTwiceKeepsEveryDamagedManifest(t *testing.T) {
	now := func() time.Time { return time.Unix(1700000000, 0) }
	fs := vfs.NewMem()
	writeSegments(t, fs, 2, 3, closed)
	man := filepath.Join(dir, segment.ManifestName)
	first := []byte("first damaged manifest, set aside by salvage #1")
	second := []byte("second damaged manifest, set aside by salvage #2")

	rewrite(t, fs, man, first)
	_, res, err := runRecovery(t, fs, Options{Salvage: true, Now: now})
	require.NoError(t, err)
	require.NotNil(t, res.Damage)
	res.Close()

	rewrite(t, fs, man, second)
	_, res, err = runRecovery(t, fs, Options{Salvage: true, Now: now})
	require.NoError(t, err)
	require.NotNil(t, res.Damage)

	names, err := fs.List(dir)
	require.NoError(t, err)
	var kept []string
	for _, n := range names {
		if strings.HasPrefix(n, segment.ManifestName+".damaged-") {
			kept = append(kept, string(fileBytes(t, fs, filepath.Join(dir, n))))
		}
	}
	require.Contains(t, kept, string(second))
	require.Contains(t, kept, string(first), "the first salvage's copy of the damaged manifest was replaced (deleted) by the second: files %v", names)
}
