package kv

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/segment"
)

// hintFiles returns the hint files of dir, sorted.
func hintFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segment.HintExt))
	require.NoError(t, err)
	return m
}

// requireHintPerSegment checks that every segment of dir but an empty
// log segment (the next Open replaces it), and nothing else, has a hint
// file that describes it.
func requireHintPerSegment(t *testing.T, dir string) {
	t.Helper()
	var want []string
	for _, s := range segmentFiles(t, dir) {
		fi, err := os.Stat(s)
		require.NoError(t, err)
		b, err := os.ReadFile(s)
		require.NoError(t, err)
		h, err := segment.DecodeHeader(b)
		require.NoError(t, err)
		if fi.Size() == segment.HeaderSize && !h.Compacted() {
			continue
		}
		want = append(want, strings.TrimSuffix(s, segment.Ext)+segment.HintExt)
		hint, err := os.ReadFile(strings.TrimSuffix(s, segment.Ext) + segment.HintExt)
		require.NoError(t, err)
		hr, err := segment.NewHintReader(hint)
		require.NoError(t, err)
		require.Equal(t, fi.Size(), hr.Header().Size, "the hint of %s describes it whole", s)
	}
	require.Equal(t, want, hintFiles(t, dir))
}

// contents returns every version of every key of run, as text.
func contents(t *testing.T, db *DB, run RunID) string {
	t.Helper()
	var b strings.Builder
	p, err := db.Scan(run, "", 0, "")
	require.NoError(t, err)
	for _, e := range p.Entries {
		h, err := db.History(run, e.Key, 0, 0)
		require.NoError(t, err)
		for _, v := range h {
			fmt.Fprintf(&b, "%s@%d=%s ", e.Key, v.Version, v.Value)
		}
	}
	return b.String()
}

func TestHintFilesFollowTheSegments(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	opts := &Options{SegmentSize: 4096, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	for i := range 1500 {
		mustPut(t, db, "r", fmt.Sprintf("k%03d", i%97), Int(int64(i)))
	}
	want := contents(t, db, "r")
	require.NoError(t, db.Close())
	require.Greater(t, len(segmentFiles(t, dir)), 5)
	requireHintPerSegment(t, dir) // the sealed ones, and the active one at Close

	reopen := func() *DB {
		log.Reset()
		db, err := Open(dir, opts)
		require.NoError(t, err)
		require.Equal(t, want, contents(t, db, "r"))
		return db
	}
	db = reopen()
	require.NotContains(t, log.String(), "hint", "every hint was used")
	require.NoError(t, db.Close())

	// A hint missing, one damaged and one of another segment: each is
	// rebuilt, and logged.
	hints := hintFiles(t, dir)
	good := map[string][]byte{}
	for _, h := range hints {
		good[h], _ = os.ReadFile(h)
	}
	require.NoError(t, os.Remove(hints[0]))
	b := bytes.Clone(good[hints[1]])
	b[len(b)/2] ^= 1
	require.NoError(t, os.WriteFile(hints[1], b, 0o644))
	require.NoError(t, os.WriteFile(hints[2], good[hints[3]], 0o644))
	db = reopen()
	require.Contains(t, log.String(), "has no hint file")
	require.Equal(t, 2, strings.Count(log.String(), "rebuilding a hint file"), log.String())
	for _, h := range hints[:3] {
		got, err := os.ReadFile(h)
		require.NoError(t, err)
		require.Equal(t, good[h], got, "%s rebuilt as it was", h)
	}
	require.NoError(t, db.Close())
}

func TestHintFilesAfterCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{SegmentSize: 4096, Retention: Retention{KeepVersions: 1}}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	for i := range 600 {
		mustPut(t, db, "r", fmt.Sprintf("k%02d", i%40), Int(int64(i)))
	}
	_, err = db.Compact(context.Background())
	require.NoError(t, err)
	want := contents(t, db, "r")
	require.NoError(t, db.Close())
	requireHintPerSegment(t, dir) // outputs have theirs; the inputs' are gone

	db, err = Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	require.Equal(t, want, contents(t, db, "r"))
}

// A byte flipped in a value of a sealed segment that has a hint is still
// corruption at Open (the frames are checksummed while the hints are
// read); with TrustHints Open reads no segment bytes and cannot see it.
func TestHintsDoNotHideCorruption(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 4096})
	require.NoError(t, err)
	for i := range 300 {
		mustPut(t, db, "r", fmt.Sprintf("k%03d", i), String("some value here"))
	}
	require.NoError(t, db.Close())
	segs := segmentFiles(t, dir)
	victim := segs[1]
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	i := bytes.Index(b, []byte("some value here"))
	require.Positive(t, i)
	b[i+3] ^= 0x10
	require.NoError(t, os.WriteFile(victim, b, 0o644))

	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrCorrupt)
	require.Contains(t, err.Error(), victim)
	_, err = Open(dir, &Options{ReadOnly: true})
	require.ErrorIs(t, err, ErrCorrupt)

	db, err = Open(dir, &Options{TrustHints: true, ReadOnly: true})
	require.NoError(t, err)
	require.NoError(t, db.Close())
}

// A compaction whose output outgrows SegmentSize splits it; each output's
// header bounds the range the whole job covered, the manifest says where
// each ends. Open must accept that, from the hints and without them.
// (The model test with retention found Open refusing it.)
func TestCompactionSplitOutputsReopen(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	opts := &Options{SegmentSize: 4096, Retention: Retention{KeepVersions: 1}, CompactAt: -1,
		Logger: slog.New(slog.NewTextHandler(&log, nil))}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	// The odd keys keep their first version: the segments holding it
	// have dead bytes (the even keys') and much to keep.
	for round := range 3 {
		for i := range 1000 {
			if round == 0 || i%2 == 0 {
				mustPut(t, db, "r", fmt.Sprintf("k%03d", i), String(fmt.Sprintf("value %d of round %d", i, round)))
			}
		}
	}
	st, err := db.Compact(context.Background())
	require.NoError(t, err)
	require.Greater(t, st.SegmentsOut, 1, "the output was split: %+v", st)
	want := contents(t, db, "r")
	require.NoError(t, db.Close())
	requireHintPerSegment(t, dir)

	for _, drop := range []bool{false, true} {
		if drop {
			for _, h := range hintFiles(t, dir) {
				require.NoError(t, os.Remove(h))
			}
		}
		log.Reset()
		db, err = Open(dir, opts)
		require.NoError(t, err, "hints dropped: %v", drop)
		require.Equal(t, want, contents(t, db, "r"))
		require.NotContains(t, log.String(), "rebuilding")
		require.NoError(t, db.Close())
	}
}
