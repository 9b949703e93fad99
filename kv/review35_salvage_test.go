package kv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/segment"
)

// API.md, Additions: RecoverSalvage opens "at the newest version V such
// that every commit <= V is intact; every file holding damage or anything
// above V is renamed aside (never deleted)". A segment the manifest lists
// but whose file is gone is damage in the middle of the log (README: "a
// commit missing from the middle is corruption"): strict Open refuses it,
// and salvage must open at the version before it, moving the later
// segments aside.
func TestReview35SalvageOpensAroundAMissingListedSegment(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 400, Durability: Strict})
	require.NoError(t, err)
	for i := 0; i < 60; i++ {
		mustPut(t, db, "r", fmt.Sprintf("k%02d", i), String(fmt.Sprintf("value %d", i)))
	}
	require.NoError(t, db.Close())
	segs := segmentFiles(t, dir)
	require.Greater(t, len(segs), 4)
	_, err = os.Stat(dir + "/MANIFEST")
	require.NoError(t, err, "rolls wrote a manifest")

	require.NoError(t, os.Remove(segs[2]))
	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrCorrupt, "strict: a listed segment missing is corruption")

	db, err = Open(dir, &Options{Recovery: RecoverSalvage})
	require.NoError(t, err, "salvage opens at the last version before the missing segment")
	rep := db.Recovery()
	require.Positive(t, rep.SalvagedAt)
	require.Equal(t, rep.SalvagedAt, db.LastVersion())
	require.NotEmpty(t, rep.MovedAside, "the segments after the missing one go aside")
	review35ReopenAfterSalvage(t, dir, db)
}

// API.md, Additions: RecoverSalvage opens "at the newest version V such
// that every commit <= V is intact"; kv's doc of RecoverSalvage: "the
// intact frames before the damage are kept under the segment's own name".
// A bit flipped in the last frame of a compacted segment leaves every
// commit before that frame intact, so the salvaged database must hold
// them: it must not open empty.
func TestReview35SalvageKeepsIntactCommitsOfACompactedSegment(t *testing.T) {
	dir, compacted := review35DamagedCompacted(t)
	_, err := Open(dir, nil)
	require.ErrorIs(t, err, ErrCorrupt)

	db, err := Open(dir, &Options{Recovery: RecoverSalvage})
	require.NoError(t, err)
	defer db.Close()
	rep := db.Recovery()
	require.NotNil(t, rep.Damage)
	require.Equal(t, compacted, rep.Damage.File)
	t.Logf("report: %s; last version %d", rep, db.LastVersion())
	mustGet(t, db, "r", "k00") // version 1, in the compacted segment's first frame
	require.Positive(t, rep.SalvagedAt, "the commits before the damaged frame are intact")
}

// The same salvage, then what the kv doc of RecoverSalvage promises
// after it: "the directory then holds exactly versions 1..V and new
// commits continue from V+1". A commit after the salvage, a Close and a
// plain Open must find versions 1..V and the new commit.
func TestReview35SalvagedCompactedDirectoryReopens(t *testing.T) {
	dir, _ := review35DamagedCompacted(t)
	db, err := Open(dir, &Options{Recovery: RecoverSalvage})
	require.NoError(t, err)
	at := db.Recovery().SalvagedAt
	v := mustPut(t, db, "r", "after", Int(1))
	require.Equal(t, at+1, v)
	require.NoError(t, db.Close())

	db, err = Open(dir, nil)
	require.NoError(t, err, "a salvaged directory opens strictly")
	defer db.Close()
	require.Equal(t, v, db.LastVersion())
}

// API.md, Additions: with RecoverSalvage, "every file holding damage or
// anything above V is renamed aside (never deleted)" and Open opens at
// the newest intact version. A MANIFEST with a flipped byte is a damaged
// file; every segment (log segments only, no compaction ran) is intact.
// Salvage must open, not fail as RecoverStrict does.
func TestReview35SalvageOpensAroundADamagedManifest(t *testing.T) {
	dir := review35DamagedManifest(t, 30)
	_, err := Open(dir, nil)
	require.ErrorIs(t, err, ErrCorrupt, "strict refuses a damaged manifest")

	db, err := Open(dir, &Options{Recovery: RecoverSalvage})
	require.NoError(t, err, "salvage opens around a damaged manifest")
	defer db.Close()
	require.Positive(t, db.LastVersion())
}

// Beyond review 35: a damaged MANIFEST and a damaged segment together.
// Salvage moves the manifest aside, reads the log segments in id order,
// opens before the segment's damage, and the directory then reopens
// strictly with a commit made after the salvage.
func TestReview35SalvageDamagedManifestAndSegment(t *testing.T) {
	dir := review35DamagedManifest(t, 60)
	segs := segmentFiles(t, dir)
	require.Greater(t, len(segs), 4)
	ends := frameEnds(t, segs[2])
	b, err := os.ReadFile(segs[2])
	require.NoError(t, err)
	b[ends[0]+6] ^= 0x10 // the segment's second frame
	require.NoError(t, os.WriteFile(segs[2], b, 0o600))

	db, err := Open(dir, &Options{Recovery: RecoverSalvage})
	require.NoError(t, err)
	rep := db.Recovery()
	require.NotNil(t, rep.Damage)
	require.Equal(t, segs[2], rep.Damage.File, "the segment's damage is what salvage opened before")
	require.Equal(t, rep.SalvagedAt, db.LastVersion())
	var manifestAside bool
	for _, a := range rep.MovedAside {
		manifestAside = manifestAside || strings.HasPrefix(filepath.Base(a), "MANIFEST.damaged-")
	}
	require.True(t, manifestAside, "moved aside: %v", rep.MovedAside)
	review35ReopenAfterSalvage(t, dir, db)
}

// A damaged MANIFEST with compacted segments: without the manifest they
// cannot be placed, so salvage refuses too, and moves nothing.
func TestReview35SalvageDamagedManifestWithCompactedSegments(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 400, Durability: Strict, CompactAt: -1, Retention: Retention{KeepVersions: 1}})
	require.NoError(t, err)
	for i := 0; i < 40; i++ {
		mustPut(t, db, "r", "hot", Int(int64(i)))
	}
	_, err = db.Compact(context.Background())
	require.NoError(t, err)
	require.NoError(t, db.Close())
	man := filepath.Join(dir, "MANIFEST")
	b := review35FlipManifest(t, dir)
	before, err := os.ReadDir(dir)
	require.NoError(t, err)

	_, err = Open(dir, &Options{Recovery: RecoverSalvage})
	require.ErrorIs(t, err, ErrCorrupt)
	after, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Equal(t, len(before), len(after), "nothing moved")
	got, err := os.ReadFile(man)
	require.NoError(t, err)
	require.Equal(t, b, got)
}

// review35DamagedCompacted writes 40 keys and 40 versions of one more,
// compacts them (KeepVersions 1) and flips a bit in the last frame of
// the compacted segment that starts at version 1, which it returns with
// the directory.
func review35DamagedCompacted(t *testing.T) (dir, compacted string) {
	t.Helper()
	dir = compactedDir(t, 0)
	for _, p := range segmentFiles(t, dir) {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		h, err := segment.DecodeHeader(b[:segment.HeaderSize])
		require.NoError(t, err)
		if h.Compacted() && h.BaseVersion == 1 {
			compacted = p
		}
	}
	require.NotEmpty(t, compacted, "compaction wrote a segment starting at version 1")
	ends := frameEnds(t, compacted)
	require.Greater(t, len(ends), 3)
	b, err := os.ReadFile(compacted)
	require.NoError(t, err)
	b[ends[len(ends)-2]+6] ^= 0x10 // inside the last frame
	require.NoError(t, os.WriteFile(compacted, b, 0o600))
	return dir, compacted
}

// review35ReopenAfterSalvage checks what the kv doc of RecoverSalvage
// promises after a salvage of the keys k00, k01, ... written one a
// version: db (just salvaged) holds them up to V, a commit takes V+1,
// and after Close the directory opens strictly with it. It closes db.
func review35ReopenAfterSalvage(t *testing.T, dir string, db *DB) {
	t.Helper()
	at := db.Recovery().SalvagedAt
	require.Equal(t, at, db.LastVersion())
	for i := 0; i < int(at); i++ {
		mustGet(t, db, "r", fmt.Sprintf("k%02d", i))
	}
	r36reopen(t, dir, db)
}

// review35DamagedManifest writes n keys k00, k01, ... one a commit into
// small log segments and flips a byte in the middle of the MANIFEST.
func review35DamagedManifest(t *testing.T, n int) (dir string) {
	t.Helper()
	dir = t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 400, Durability: Strict, CompactAt: -1})
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		mustPut(t, db, "r", fmt.Sprintf("k%02d", i), Int(int64(i)))
	}
	require.NoError(t, db.Close())
	review35FlipManifest(t, dir)
	return dir
}

// review35FlipManifest flips a byte in the middle of dir's MANIFEST and
// returns its bytes as they now are.
func review35FlipManifest(t *testing.T, dir string) []byte {
	t.Helper()
	man := filepath.Join(dir, "MANIFEST")
	b, err := os.ReadFile(man)
	require.NoError(t, err)
	b[len(b)/2] ^= 0x01
	require.NoError(t, os.WriteFile(man, b, 0o600))
	return b
}

// compactedDir writes keys k00..k39 and 40 versions of "hot", one a
// commit, into small segments, compacts them (KeepVersions 1), writes
// more keys n00, n01, ... and closes the directory it returns.
func compactedDir(t *testing.T, more int) string {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 400, Durability: Strict, CompactAt: -1, Retention: Retention{KeepVersions: 1}})
	require.NoError(t, err)
	for i := 0; i < 40; i++ {
		mustPut(t, db, "r", fmt.Sprintf("k%02d", i), String(fmt.Sprintf("value %d", i)))
		mustPut(t, db, "r", "hot", Int(int64(i))) // dead versions for compaction to drop
	}
	_, err = db.Compact(context.Background())
	require.NoError(t, err)
	for i := 0; i < more; i++ {
		mustPut(t, db, "r", fmt.Sprintf("n%02d", i), String(fmt.Sprintf("value %d", i)))
	}
	require.NoError(t, db.Close())
	return dir
}
