package recovery_test

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/recovery"
	"github.com/strata-kv/strata/segment"
)

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite testdata/fixtures/*/ from the format v2 encoder")

// The fixtures are data directories written by the format v2 encoder
// (fixtureFiles), each damaged in one way, committed under
// testdata/fixtures/. Their expected outcomes are written by hand in
// testdata/fixtures/outcomes.txt, one row per directory: what Open does
// and the first problem Verify reports. A change to the encoder's bytes
// fails TestFixturesMatchEncoder; a change to what recovery accepts fails
// TestFixtures.

// The database every fixture starts from: segment 1 (sealed) holds
// versions 1-3, segment 2 (the newest, where commits went) versions 4-6;
// version v puts r/k<v> = "v<v>", one entry per commit.
const (
	fixtureTime  = 1_764_000_000_000_000
	fixtureSalt1 = 0x1111111111111111
	fixtureSalt2 = 0x2222222222222222
)

// fixtureSegment encodes segment id of versions base..last. synced gives
// the durable bytes each frame claims (nil: every frame claims all before
// it, as after an fsync per commit). It returns the bytes and the offset
// of each frame.
func fixtureSegment(t *testing.T, id uint32, salt uint64, base, last uint64, synced func(off int64) int64) ([]byte, []int64) {
	h := segment.Header{ID: id, Salt: salt, BaseVersion: base, BaseTime: fixtureTime}
	enc := segment.NewEncoder(h)
	data := h.Encode()
	var offs []int64
	for v := base; v <= last; v++ {
		val, err := kv.String(fmt.Sprintf("v%d", v)).MarshalBinary()
		require.NoError(t, err)
		off := int64(len(data))
		claim := off
		if synced != nil {
			claim = synced(off)
		}
		offs = append(offs, off)
		data, _, err = enc.AppendCommit(data, off, claim, v, fixtureTime+int64(v), []segment.EntrySpec{
			{Op: segment.OpPut, Run: "r", Key: fmt.Sprintf("k%d", v), Value: val}}, nil)
		require.NoError(t, err)
	}
	return data, offs
}

// fixtureFiles returns the files of each fixture directory, by name.
func fixtureFiles(t *testing.T) map[string]map[string][]byte {
	seg1, offs1 := fixtureSegment(t, 1, fixtureSalt1, 1, 3, nil)
	seg2, offs2 := fixtureSegment(t, 2, fixtureSalt2, 4, 6, nil)
	// The newest segment as written without an fsync since its header:
	// every frame claims only the header durable.
	unsynced, uoffs := fixtureSegment(t, 2, fixtureSalt2, 4, 6, func(int64) int64 { return segment.HeaderSize })
	manifest := (&segment.Manifest{Generation: 1, Active: 2,
		Segments: []segment.SegmentInfo{{ID: 1, Base: 1, Last: 3, Size: int64(len(seg1))}}}).Encode()
	with := func(b []byte, f func(b []byte) []byte) []byte { return f(slices.Clone(b)) }
	return map[string]map[string][]byte{
		"clean":          {"0000000001.seg": seg1, "0000000002.seg": seg2},
		"clean-manifest": {"0000000001.seg": seg1, "0000000002.seg": seg2, "MANIFEST": manifest},
		// The last frame of the newest segment cut short by a crash.
		"torn-tail": {"0000000001.seg": seg1, "0000000002.seg": seg2[:len(seg2)-3]},
		// Space the writer reserved ahead: zeros after the last frame.
		"reserved-zeros": {"0000000001.seg": seg1, "0000000002.seg": append(slices.Clone(seg2), make([]byte, 64)...)},
		// A byte of version 2's value flipped in the sealed segment.
		"flipped-byte": {"0000000001.seg": with(seg1, func(b []byte) []byte { b[offs1[2]-2] ^= 0x40; return b }), "0000000002.seg": seg2},
		// Version 2's frame cut out of the sealed segment: the frames
		// around it verify, but versions no longer run on by one.
		"missing-frame": {"0000000001.seg": slices.Concat(seg1[:offs1[1]], seg1[offs1[2]:]), "0000000002.seg": seg2},
		// Version 5's frame zeroed in a newest segment never fsynced
		// after its header: a torn write (the OS wrote a later page
		// first); Open cuts from the hole on.
		"hole-unsynced": {"0000000001.seg": seg1, "0000000002.seg": with(unsynced, func(b []byte) []byte {
			clear(b[uoffs[1]:uoffs[2]])
			return b
		})},
		// The same hole where version 6's frame claims version 5's bytes
		// fsynced: corruption, not a torn write.
		"hole-synced": {"0000000001.seg": seg1, "0000000002.seg": with(seg2, func(b []byte) []byte {
			clear(b[offs2[1]:offs2[2]])
			return b
		})},
		// The sealed segment's header damaged (its base version).
		"bad-header": {"0000000001.seg": with(seg1, func(b []byte) []byte { b[24] ^= 1; return b }), "0000000002.seg": seg2},
		// The sealed segment gone: the newest starts at version 4.
		"missing-segment": {"0000000002.seg": seg2},
		// The manifest lists segment 1, which is gone.
		"missing-listed": {"0000000002.seg": seg2, "MANIFEST": manifest},
		// The manifest's checksum broken.
		"bad-manifest": {"0000000001.seg": seg1, "0000000002.seg": seg2, "MANIFEST": with(manifest, func(b []byte) []byte { b[len(b)-1] ^= 1; return b })},
	}
}

const fixturesDir = "testdata/fixtures"

// TestFixturesMatchEncoder fails if the format v2 encoder no longer
// writes the committed fixture files byte for byte (-update-fixtures
// rewrites them: a change of the on-disk format).
func TestFixturesMatchEncoder(t *testing.T) {
	for name, files := range fixtureFiles(t) {
		dir := filepath.Join(fixturesDir, name)
		if *updateFixtures {
			require.NoError(t, os.RemoveAll(dir))
			require.NoError(t, os.MkdirAll(dir, 0o755))
			for f, b := range files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
			}
		}
		entries, err := os.ReadDir(dir)
		require.NoError(t, err, "run go test ./recovery -run TestFixturesMatchEncoder -update-fixtures")
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
			want, ok := files[e.Name()]
			require.True(t, ok, "%s/%s is not a fixture file", name, e.Name())
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			require.Equal(t, want, b, "%s/%s: the encoder's bytes changed", name, e.Name())
		}
		require.Len(t, got, len(files), name)
	}
}

// outcome is one row of testdata/fixtures/outcomes.txt.
type outcome struct {
	dir  string
	open string // "ok" or "corrupt"
	// last is the version Open opens at ("-": it fails); cut the bytes a
	// writable Open cuts from the newest segment (torn and unused).
	last, cut string
	// kind, file, offset: the first problem Verify reports ("-": none).
	kind, file, offset string
}

func readOutcomes(t *testing.T) []outcome {
	f, err := os.Open(filepath.Join(fixturesDir, "outcomes.txt"))
	require.NoError(t, err)
	defer f.Close()
	var rows []outcome
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// Columns are separated by two or more spaces (a kind has one).
		var cols []string
		for c := range strings.SplitSeq(line, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
		require.Len(t, cols, 7, "outcomes.txt: %q", line)
		rows = append(rows, outcome{cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]})
	}
	require.NoError(t, sc.Err())
	return rows
}

// TestFixtures opens a copy of each fixture directory and verifies the
// original, and checks both against the table of expected outcomes: the
// open's result, the version it opens at and the bytes it cuts; the
// first problem Verify finds, and that Verify calls corrupt exactly what
// Open refuses.
func TestFixtures(t *testing.T) {
	rows := readOutcomes(t)
	var names []string
	for _, r := range rows {
		names = append(names, r.dir)
	}
	slices.Sort(names)
	var fixtures []string
	for name := range fixtureFiles(t) {
		fixtures = append(fixtures, name)
	}
	slices.Sort(fixtures)
	require.Equal(t, fixtures, names, "outcomes.txt has one row per fixture directory")
	for _, row := range rows {
		t.Run(row.dir, func(t *testing.T) {
			src := filepath.Join(fixturesDir, row.dir)
			rep, err := recovery.Verify(vfs.Default, src, recovery.VerifyOptions{})
			require.NoError(t, err)
			if row.kind == "-" {
				require.Empty(t, rep.Problems)
			} else {
				require.NotEmpty(t, rep.Problems)
				p := rep.Problems[0]
				require.Equal(t, row.kind, p.Kind.String(), "%v", p)
				require.Equal(t, row.file, filepath.Base(p.File), "%v", p)
				require.Equal(t, row.offset, strconv.FormatInt(p.Offset, 10), "%v", p)
			}
			require.Equal(t, row.open == "corrupt", rep.Corrupt(), "Verify calls corrupt what Open refuses")

			dir := kvtest.CopyDir(t, src)
			res, err := recovery.Recover(vfs.Default, dir, index.New(), recovery.Options{})
			if row.open == "corrupt" {
				require.ErrorIs(t, err, kv.ErrCorrupt)
				var p *recovery.Problem
				require.True(t, errors.As(err, &p), "%v", err)
				first := rep.Problems[0]
				require.Equal(t, first.Kind, p.Kind, "Open stops at the problem Verify reports first")
				require.Equal(t, first.File, filepath.Join(src, filepath.Base(p.File)))
				require.Equal(t, first.Offset, p.Offset)
				require.Equal(t, "-", row.last)
				return
			}
			require.NoError(t, err)
			defer res.Close()
			require.Equal(t, row.last, strconv.FormatUint(res.LastVersion, 10))
			require.Equal(t, row.cut, strconv.FormatInt(res.TornBytes+res.UnusedBytes, 10))

			// kv.Open reads every value it kept.
			db, err := kv.Open(dir, &kv.Options{ReadOnly: true})
			require.NoError(t, err)
			defer db.Close()
			for v := uint64(1); v <= res.LastVersion; v++ {
				got, ok, err := db.Get("r", fmt.Sprintf("k%d", v))
				require.NoError(t, err, "version %d", v)
				require.True(t, ok, "version %d", v)
				require.Equal(t, kv.Version(v), got.Version)
				require.True(t, kv.String(fmt.Sprintf("v%d", v)).Equal(got.Value), "version %d: %v", v, got.Value)
			}
		})
	}
}
