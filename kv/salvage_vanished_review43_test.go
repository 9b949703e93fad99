package kv

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// r43salvageDir writes k@v1 and k@v2 in segments of their own, lets
// compaction drop v1 (its successor v2 kept: the trim horizon is 2, no
// key removed whole, so Vanished is 0), closes, and removes the file
// that holds v2, which the manifest lists: a salvage opens at version 1.
func r43salvageDir(t *testing.T) (dir string, v1 Version) {
	t.Helper()
	dir = t.TempDir()
	opts := &Options{SegmentSize: 100, Durability: Strict, CompactAt: -1, Retention: Retention{KeepVersions: 1}}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	big := strings.Repeat("x", 200) // every commit fills a segment
	v1 = mustPut(t, db, "r", "k", String("one "+big))
	v2 := mustPut(t, db, "r", "k", String("two "+big))
	mustPut(t, db, "r", "other", String(big)) // v2's segment sealed
	st, err := db.Compact(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 1, st.VersionsDropped, "v1 dropped")
	_, err = db.GetAt("r", "k", v1)
	require.ErrorIs(t, err, ErrHistoryTrimmed, "before the salvage: v1, which answered at v1, was dropped")
	require.NoError(t, db.Close())

	m, err := segment.ReadManifest(vfs.Default, dir)
	require.NoError(t, err)
	require.EqualValues(t, 2, m.Trimmed)
	require.EqualValues(t, 0, m.Vanished, "no key removed whole")
	var holder uint32
	for _, s := range m.Segments {
		if s.Base == uint64(v2) {
			holder = s.ID
		}
	}
	require.NotZero(t, holder, "a listed segment begins at v2: %+v", m.Segments)
	require.NoError(t, os.Remove(filepath.Join(dir, segment.FileName(holder))))
	return dir, v1
}

// API.md: GetAt returns ErrHistoryTrimmed "when compaction has dropped
// the version that answered at"; ErrNotFound only when the key was absent
// as of at. Version 1 is inside the salvaged history (every commit <= V
// intact), k was live at it, and compaction dropped the version that
// answered. A salvage that cuts the versions a key kept leaves the key
// with no version in the index, as if compaction had removed it whole,
// but Vanished is not raised: GetAt says ErrNotFound, a wrong answer
// (before this commit it said ErrHistoryTrimmed, 1 being below the
// horizon).
func TestReview43SalvageCutKeyReadsNotFoundWhereItsVersionWasDropped(t *testing.T) {
	dir, v1 := r43salvageDir(t)
	db, err := Open(dir, &Options{Recovery: RecoverSalvage, CompactAt: -1})
	require.NoError(t, err)
	require.NotNil(t, db.Recovery().Damage)
	require.Equal(t, v1, db.LastVersion(), "salvage opens at v1")
	_, err = db.GetAt("r", "k", v1)
	require.ErrorIs(t, err, ErrHistoryTrimmed, "k was live at v1, its version dropped by compaction")
	require.NoError(t, db.Close())

	// The manifest the salvage and the Open wrote carries it on: a plain
	// Open says the same.
	db, err = Open(dir, &Options{CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.GetAt("r", "k", v1)
	require.ErrorIs(t, err, ErrHistoryTrimmed, "after a plain reopen")
}

// The same through a read-only salvage, which moves nothing.
func TestReview43ReadOnlySalvageCutKeyReadsNotFound(t *testing.T) {
	dir, v1 := r43salvageDir(t)
	db, err := Open(dir, &Options{Recovery: RecoverSalvage, ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	require.Equal(t, v1, db.LastVersion())
	_, err = db.GetAt("r", "k", v1)
	require.ErrorIs(t, err, ErrHistoryTrimmed, "k was live at v1, its version dropped by compaction")
}
