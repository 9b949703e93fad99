package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

type result struct {
	code           int
	stdout, stderr string
}

func inspect(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// makeDB writes a directory with several segments, batches, deletes and
// compressible values, and returns it still open (inspect must work beside
// a live writer) together with the DB.
func makeDB(t *testing.T) (string, *kv.DB) {
	t.Helper()
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{SegmentSize: 512})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	for i := 0; i < 40; i++ {
		_, err := db.Put("agent", fmt.Sprintf("step%d", i%5), kv.String(strings.Repeat(fmt.Sprintf("step %d ", i), 10)))
		require.NoError(t, err)
		if i%10 == 9 {
			_, err = db.MPut("other", []kv.KeyValue{{Key: "a", Value: kv.Int(int64(i))}, {Key: "b", Value: kv.Bytes([]byte{byte(i)})}})
			require.NoError(t, err)
		}
	}
	_, err = db.Delete("agent", "step0")
	require.NoError(t, err)
	return dir, db
}

func segFiles(t *testing.T, dir string) []string {
	m, err := filepath.Glob(filepath.Join(dir, "*"+segment.Ext))
	require.NoError(t, err)
	slices.Sort(m)
	return m
}

func TestSegmentsAndVerifyOnLiveDirectory(t *testing.T) {
	dir, db := makeDB(t)
	r := inspect(t, "segments", dir)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "sealed")
	require.Contains(t, r.stdout, "active")

	r = inspect(t, "segments", "-json", dir)
	require.Equal(t, 0, r.code, r.stderr)
	var rows []segmentRow
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows))
	require.Equal(t, db.Stats().Segments, len(rows))
	versions := 0
	for i, row := range rows {
		versions += int(row.MaxVersion-row.MinVersion) + 1
		if i > 0 {
			require.Equal(t, rows[i-1].MaxVersion+1, row.MinVersion)
		}
		require.Less(t, row.Ratio, 1.0, "repetitive values compress")
	}
	require.EqualValues(t, db.LastVersion(), versions)

	r = inspect(t, "verify", dir)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "clean")
	r = inspect(t, "verify", dir, "-json")
	var rep verifyReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.True(t, rep.Clean)
	require.EqualValues(t, db.LastVersion(), rep.LastVersion)
	require.Equal(t, int(db.LastVersion()), rep.Frames)

	// Read-only: the live DB still takes writes and the files are untouched.
	_, err := db.Put("agent", "after", kv.Int(1))
	require.NoError(t, err)
}

func TestHistoryAndDumpMatchTheAPI(t *testing.T) {
	dir, db := makeDB(t)
	want, err := db.History("agent", "step0", 0, 0)
	require.NoError(t, err)
	r := inspect(t, "history", "-json", dir, "agent", "step0")
	require.Equal(t, 0, r.code, r.stderr)
	var rows []historyRow
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows))
	require.Len(t, rows, len(want))
	for i := range rows {
		require.EqualValues(t, want[i].Version, rows[i].Version)
		require.Equal(t, want[i].Deleted, rows[i].Deleted)
		if !want[i].Deleted {
			require.True(t, want[i].Value.Equal(*rows[i].Value))
		}
	}
	r = inspect(t, "history", dir, "agent", "nope")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, "no versions")

	r = inspect(t, "dump", dir, "-run", "other", "-key", "b", "-json")
	require.Equal(t, 0, r.code, r.stderr)
	var frames []frameJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &frames))
	require.Len(t, frames, 4)
	for _, f := range frames {
		require.Len(t, f.Entries, 1)
		require.Equal(t, "b", f.Entries[0].Key)
		require.Equal(t, kv.KindBytes, f.Entries[0].Value.Kind())
	}
	r = inspect(t, "dump", dir, "-from-version", "30", "-limit", "3")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, 3, strings.Count(r.stdout, "\n  put")+strings.Count(r.stdout, "\n  del"))
	require.Contains(t, r.stdout, "version 30,")

	// A single file works too.
	r = inspect(t, "dump", segFiles(t, dir)[0], "-limit", "1")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "version 1,")
}

func TestStats(t *testing.T) {
	dir, db := makeDB(t)
	r := inspect(t, "stats", "-json", dir)
	require.Equal(t, 0, r.code, r.stderr)
	var rep statsReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	st := db.Stats()
	require.EqualValues(t, st.Keys, rep.LiveKeys)
	require.EqualValues(t, st.Versions, rep.Versions)
	require.Equal(t, 7, rep.Keys)
	require.Zero(t, rep.DeadBytes)
	require.Len(t, rep.Runs, 2)
	require.Equal(t, "agent", rep.Runs[0].Run)
	require.Equal(t, 5, rep.Runs[0].Keys)
	require.Equal(t, 4, rep.Runs[0].LiveKeys)
	require.Equal(t, "agent", rep.Largest[0].Run, "the big string values dominate")
	r = inspect(t, "stats", dir)
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, "largest keys")
}

func TestCorruptAndTornDirectories(t *testing.T) {
	dir, db := makeDB(t)
	require.NoError(t, db.Close())
	segs := segFiles(t, dir)

	// A torn tail is reported but is not corruption.
	last := segs[len(segs)-1]
	st, err := os.Stat(last)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(last, st.Size()-2))
	r := inspect(t, "verify", dir)
	require.Equal(t, 0, r.code, r.stdout)
	require.Contains(t, r.stdout, "WARNING torn tail")
	require.Regexp(t, `clean but for a torn tail of \d+ bytes`, r.stdout, "the warning gives its size")

	// A flipped byte in a sealed segment is corruption, named by file and
	// offset, and scanning goes on past it.
	b, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	b[segment.HeaderSize+30] ^= 0xff
	require.NoError(t, os.WriteFile(segs[0], b, 0o644))
	r = inspect(t, "verify", dir)
	require.Equal(t, cli.ExitCorrupt, r.code, r.stdout)
	require.Contains(t, r.stdout, fmt.Sprintf("CORRUPT: %s at offset %d", segs[0], segment.HeaderSize))
	require.Contains(t, r.stdout, "intact frames follow", "what lies after the damage is reported")
	require.NotContains(t, r.stdout, "commits or a segment are missing", "the intact frames after the damage account for the versions up to the next segment")
	r = inspect(t, "verify", "-json", dir)
	require.Equal(t, cli.ExitCorrupt, r.code)
	var rep verifyReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.False(t, rep.Clean)
	require.GreaterOrEqual(t, len(rep.Problems), 2)
	for _, name := range []string{"segments", "stats", "dump"} {
		require.Equal(t, cli.ExitCorrupt, inspect(t, name, dir).code, name)
	}

	// A bad header.
	b[0] ^= 0xff
	require.NoError(t, os.WriteFile(segs[0], b, 0o644))
	r = inspect(t, "verify", dir)
	require.Equal(t, cli.ExitCorrupt, r.code)
	require.Contains(t, r.stdout, "offset 0")

	// Nothing was modified: Open still refuses the directory for the same reason.
	_, err = kv.Open(dir, nil)
	require.ErrorIs(t, err, kv.ErrCorrupt)
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{}, {"frob"}, {"verify", dir, "extra"}, {"history", "r"}, {"dump", dir, "-limit", "-1"}, {"verify", "-nosuch", dir}} {
		r := inspect(t, args...)
		require.Equal(t, cli.ExitUsage, r.code, "%v", args)
	}
	r := inspect(t, "verify", dir)
	require.Equal(t, cli.ExitError, r.code, "no segments is an error, not bad usage")
	require.Contains(t, r.stderr, "no segment files")
	r = inspect(t, "verify", filepath.Join(dir, "missing"))
	require.Equal(t, cli.ExitError, r.code)
	r = inspect(t, "-dir", filepath.Join(dir, "missing"), "verify")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, filepath.Join(dir, "missing"), "-dir names the directory")
	require.Equal(t, cli.ExitOK, inspect(t, "-h").code)
	require.Equal(t, cli.ExitOK, inspect(t, "help").code)
}

// salvage is a dry run by default (exit 4, nothing moved); -apply moves
// the damaged segment and every later one aside, keeps the intact
// versions, and the directory then opens at the version it named.
func TestSalvage(t *testing.T) {
	dir, db := makeDB(t)
	last := db.LastVersion()
	require.NoError(t, db.Close())
	r := inspect(t, "salvage", dir)
	require.Equal(t, cli.ExitOK, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "nothing to salvage")

	segs := segFiles(t, dir)
	require.Greater(t, len(segs), 3)
	b, err := os.ReadFile(segs[1])
	require.NoError(t, err)
	b[len(b)/2] ^= 0x40
	require.NoError(t, os.WriteFile(segs[1], b, 0o600))
	r = inspect(t, "salvage", dir)
	require.Equal(t, cli.ExitCorrupt, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "CORRUPT: "+segs[1])
	require.Contains(t, r.stdout, "-apply")
	require.Equal(t, segs, segFiles(t, dir), "a dry run moves nothing")

	r = inspect(t, "salvage", "-json", dir)
	var rep salvageReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Len(t, rep.Files, len(segs)-1)
	require.Less(t, rep.SalvagedAt, uint64(last))
	require.Positive(t, rep.SalvagedAt)

	r = inspect(t, "salvage", "-apply", dir)
	require.Equal(t, cli.ExitOK, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, fmt.Sprintf("now opens at version %d", rep.SalvagedAt))
	moved, err := filepath.Glob(filepath.Join(dir, "*.damaged-*"))
	require.NoError(t, err)
	require.Len(t, moved, len(segs)-1, "moved aside, not deleted")
	db, err = kv.Open(dir, nil)
	require.NoError(t, err)
	require.EqualValues(t, rep.SalvagedAt, db.LastVersion())
	require.NoError(t, db.Close())
	r = inspect(t, "verify", dir)
	require.Equal(t, cli.ExitOK, r.code, r.stdout)
}

// dump -hex shows the bytes of every frame and of a damaged region.
func TestDumpHex(t *testing.T) {
	dir, db := makeDB(t)
	require.NoError(t, db.Close())
	segs := segFiles(t, dir)
	b, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	b[segment.HeaderSize+4] = 0xEE
	require.NoError(t, os.WriteFile(segs[0], b, 0o600))
	r := inspect(t, "dump", "-hex", segs[len(segs)-1])
	require.Equal(t, cli.ExitOK, r.code, "the newest segment, given alone: %s", r.stdout)
	r = inspect(t, "dump", "-hex", segs[0])
	require.Equal(t, cli.ExitCorrupt, r.code, "a sealed segment, given alone: %s", r.stdout)
	r = inspect(t, "dump", "-hex", dir)
	require.Equal(t, cli.ExitCorrupt, r.code, r.stdout)
	require.Contains(t, r.stdout, fmt.Sprintf("CORRUPT: %s at offset %d", segs[0], segment.HeaderSize))
	require.Contains(t, r.stdout, fmt.Sprintf("bytes from offset %d:", segment.HeaderSize))
	require.Regexp(t, `00000000  [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} ee`, r.stdout, "the damaged byte is shown")
	require.Contains(t, r.stdout, "sync marker", "the closing sync marker is listed too")
}

// A segment file inspect may not read is left out and reported, with exit
// status 2, and the segment after it is not taken for one that follows a
// gap. (Run as a user without CAP_DAC_OVERRIDE; as root it skips.) (Found
// by review.)
func TestUnreadableSegmentIsNotCorruption(t *testing.T) {
	dir, db := makeDB(t)
	require.NoError(t, db.Close())
	segs := segFiles(t, dir)
	require.Greater(t, len(segs), 2)
	require.NoError(t, os.Chmod(segs[1], 0))
	defer os.Chmod(segs[1], 0o600)
	if _, err := os.ReadFile(segs[1]); err == nil {
		t.Skip("running with permission to read any file")
	}
	r := inspect(t, "verify", dir)
	require.NotContains(t, r.stdout, "CORRUPT", "nothing is damaged")
	require.Contains(t, r.stderr, "permission denied")
	require.Equal(t, cli.ExitError, r.code, "an unreadable file: an error, not corruption")
}

// A compacted directory verifies clean: segments are read in the
// manifest's order, and a compacted segment covers its range with gaps.
func TestVerifyCompactedDirectory(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{SegmentSize: 512, Retention: kv.Retention{KeepVersions: 1}, CompactAt: -1})
	require.NoError(t, err)
	for i := 0; i < 60; i++ {
		_, err := db.Put("agent", fmt.Sprintf("step%d", i%5), kv.Int(int64(i)))
		require.NoError(t, err)
	}
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.Positive(t, st.VersionsDropped)
	_, err = db.Put("agent", "after", kv.Int(1))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	r := inspect(t, "verify", dir)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "clean")
}

// verify checks the manifest and the hint files: a hint that Open would
// rebuild is reported, not corruption; a hint Open would trust that lists
// other entries, and a segment the manifest lists but the directory
// lacks, are corruption.
func TestVerifyManifestAndHints(t *testing.T) {
	dir := smallClosedDB(t)
	segs := segFiles(t, dir)
	require.Greater(t, len(segs), 3)
	r := inspect(t, "verify", "-json", dir)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	var rep verifyReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Equal(t, map[string]int{"ok": len(segs)}, rep.Hints)

	hint := func(i int) string { return strings.TrimSuffix(segs[i], segment.Ext) + segment.HintExt }
	require.NoError(t, os.Remove(hint(0)))
	require.NoError(t, os.WriteFile(hint(1), []byte("garbage"), 0o644))
	r = inspect(t, "segments", dir)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "none")
	require.Contains(t, r.stdout, "unusable")
	r = inspect(t, "verify", dir)
	require.Equal(t, 0, r.code, "Open rebuilds them: not corruption\n"+r.stdout+r.stderr)
	require.Contains(t, r.stdout, "1 none")
	require.Contains(t, r.stdout, "1 unusable")

	// A hint that matches its segment but moves a value: Open would
	// believe it.
	b, err := os.ReadFile(hint(2))
	require.NoError(t, err)
	hr, err := segment.NewHintReader(b)
	require.NoError(t, err)
	entries, err := hr.All()
	require.NoError(t, err)
	entries[0].Offset++
	require.NoError(t, os.WriteFile(hint(2), segment.EncodeHint(hr.Header(), entries), 0o644))
	r = inspect(t, "verify", dir)
	require.Equal(t, cli.ExitCorrupt, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "lists other entries")

	require.NoError(t, os.Remove(segs[1]))
	r = inspect(t, "verify", dir)
	require.Equal(t, cli.ExitCorrupt, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "the manifest lists this segment")
}

func TestStatsPerSegment(t *testing.T) {
	dir := smallClosedDB(t)
	r := inspect(t, "stats", "-json", "-keep-versions", "1", dir)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	var rep statsReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Len(t, rep.PerSegment, len(segFiles(t, dir)))
	var live, history, droppable int64
	for _, p := range rep.PerSegment {
		live += p.LiveBytes
		history += p.HistoryBytes
		droppable += p.Droppable
		require.Zero(t, p.DeadBytes)
	}
	require.Equal(t, rep.LiveBytes, live)
	require.Equal(t, rep.HistoryBytes, history)
	require.Equal(t, history, droppable, "with one version kept, all history may go (no tombstones here)")
	require.Positive(t, rep.PerSegment[len(rep.PerSegment)-1].LiveBytes)
	require.Zero(t, rep.PerSegment[0].LiveBytes, "every key was written again since")

	r = inspect(t, "stats", "-keep-versions", "-1", dir)
	require.Equal(t, cli.ExitUsage, r.code)
}

// smallClosedDB writes 60 versions of 5 keys into segments of 512 bytes
// and closes the database.
func smallClosedDB(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{SegmentSize: 512})
	require.NoError(t, err)
	for i := 0; i < 60; i++ {
		_, err := db.Put("agent", fmt.Sprintf("step%d", i%5), kv.Int(int64(i)))
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())
	return dir
}
