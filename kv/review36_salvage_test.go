package kv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/recovery"
	"github.com/strata-kv/strata/segment"
)

// r36build writes 80 commits, compacts them (compacted segments with ids
// above the log segments still live), then 20 more commits, and closes:
// the manifest lists compacted segments first, then log segments of
// lower ids, then names the active one.
func r36build(t *testing.T) (dir string, m *segment.Manifest) {
	t.Helper()
	dir = compactedDir(t, 20)
	m, err := segment.ReadManifest(vfs.Default, dir)
	require.NoError(t, err)
	require.NotNil(t, m)
	return dir, m
}

func r36header(t *testing.T, path string) segment.Header {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	h, err := segment.DecodeHeader(b[:segment.HeaderSize])
	require.NoError(t, err)
	return h
}

// r36reopen commits after a salvage, closes, and checks that a plain
// Open holds exactly 1..V and the new commit.
func r36reopen(t *testing.T, dir string, db *DB) {
	t.Helper()
	at := db.LastVersion()
	v := mustPut(t, db, "r", "after", Int(1))
	require.Equal(t, at+1, v)
	require.NoError(t, db.Close())
	db, err := Open(dir, nil)
	require.NoError(t, err, "a salvaged directory opens strictly")
	defer db.Close()
	require.Equal(t, v, db.LastVersion())
	mustGet(t, db, "r", "after")
}

// kv's RecoverSalvage doc: "A segment the manifest lists but whose file
// is gone is damage the same way: V is the version before it"; API.md:
// RecoverSalvage opens "at the newest version V such that every commit
// <= V is intact". The manifest names the segment new commits went to
// (Active); with that file gone, every listed segment is intact and
// salvage must open at the end of them, not fail as a strict Open does.
func TestReview36SalvageOpensWhenTheManifestsActiveSegmentIsMissing(t *testing.T) {
	dir, m := r36build(t)
	require.NotZero(t, m.Active)
	last := m.Segments[len(m.Segments)-1].Last
	require.NoError(t, os.Remove(filepath.Join(dir, segment.FileName(m.Active))))

	_, err := Open(dir, nil)
	require.ErrorIs(t, err, ErrCorrupt, "strict: the active segment missing is corruption")

	db, err := Open(dir, &Options{Recovery: RecoverSalvage})
	require.NoError(t, err, "salvage opens at the end of the listed segments")
	require.EqualValues(t, last, db.LastVersion())
	require.NotNil(t, db.Recovery().Damage)
	r36reopen(t, dir, db)
}

// API.md: RecoverSalvage opens "at the newest version V such that every
// commit <= V is intact"; kv's doc: "the intact frames before the damage
// are kept under the segment's own name ... (a compacted segment's
// intact frames too: the manifest then lists it as ending at V)". A
// compacted segment cut short in its last frame still holds every
// earlier frame intact: salvage must keep them, not move the segment
// aside whole and open before it.
func TestReview36SalvageKeepsIntactFramesOfACompactedSegmentCutShort(t *testing.T) {
	dir, m := r36build(t)
	first := m.Segments[0]
	path := filepath.Join(dir, segment.FileName(first.ID))
	require.True(t, r36header(t, path).Compacted())
	ends := frameEnds(t, path)
	require.Greater(t, len(ends), 3)
	require.NoError(t, os.Truncate(path, ends[len(ends)-1]-3)) // into the last frame

	_, err := Open(dir, nil)
	require.ErrorIs(t, err, ErrCorrupt)

	db, err := Open(dir, &Options{Recovery: RecoverSalvage})
	require.NoError(t, err)
	rep := db.Recovery()
	t.Logf("report: %s", rep)
	require.NotNil(t, rep.Damage)
	require.Positive(t, db.LastVersion(), "the frames before the cut are intact")
	mustGet(t, db, "r", "k00")
	r36reopen(t, dir, db)
}

// The same for a log segment the manifest lists, grown by bytes appended
// after it was sealed: every commit in it is intact, so V is at least
// its last version.
func TestReview36SalvageKeepsASealedLogSegmentWithBytesAppended(t *testing.T) {
	dir, m := r36build(t)
	var info segment.SegmentInfo
	for _, s := range m.Segments {
		if !r36header(t, filepath.Join(dir, segment.FileName(s.ID))).Compacted() {
			info = s
			break
		}
	}
	require.NotZero(t, info.ID)
	path := filepath.Join(dir, segment.FileName(info.ID))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("garbage!"))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrCorrupt)

	db, err := Open(dir, &Options{Recovery: RecoverSalvage})
	require.NoError(t, err)
	t.Logf("report: %s", db.Recovery())
	require.GreaterOrEqual(t, uint64(db.LastVersion()), info.Last, "every commit of %s is intact", path)
	r36reopen(t, dir, db)
}

// recovery's salvage: "A hint of a file moved aside would describe
// nothing"; the package doc: "Hints of segments that are gone are
// removed". A log segment listed after compacted segments of higher ids,
// damaged at its first frame, goes aside whole; its hint must go too, so
// that Verify of the salvaged (then closed) directory finds nothing.
func TestReview36SalvageRemovesTheHintOfALogSegmentMovedAsideWhole(t *testing.T) {
	dir, m := r36build(t)
	var info segment.SegmentInfo
	maxCompacted := uint32(0)
	for _, s := range m.Segments {
		if r36header(t, filepath.Join(dir, segment.FileName(s.ID))).Compacted() {
			maxCompacted = max(maxCompacted, s.ID)
		} else if info.ID == 0 {
			info = s
		}
	}
	require.Greater(t, maxCompacted, info.ID, "manifest order is not id order")
	path := filepath.Join(dir, segment.FileName(info.ID))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[segment.HeaderSize+6] ^= 0x10 // the first frame
	require.NoError(t, os.WriteFile(path, b, 0o600))
	_, err = os.Stat(filepath.Join(dir, segment.HintName(info.ID)))
	require.NoError(t, err, "the segment has a hint")

	db, err := Open(dir, &Options{Recovery: RecoverSalvage})
	require.NoError(t, err)
	t.Logf("report: %s", db.Recovery())
	require.EqualValues(t, info.Base-1, db.LastVersion())
	require.NoError(t, db.Close())
	rep, err := recovery.Verify(vfs.Default, dir, recovery.VerifyOptions{})
	require.NoError(t, err)
	for _, p := range rep.Problems {
		t.Errorf("verify after the salvage: %s", p)
	}
	_, err = os.Stat(filepath.Join(dir, segment.HintName(info.ID)))
	require.ErrorIs(t, err, os.ErrNotExist, "the hint of the segment moved aside")
}
