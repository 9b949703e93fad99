package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// compactedDir writes a directory compacted twice, the first job's
// output split at SegmentSize, and returns it closed.
func compactedDir(t *testing.T) (string, map[string]int) {
	dir := t.TempDir()
	opts := &kv.Options{SegmentSize: 4096, Retention: kv.Retention{KeepVersions: 1}, CompactAt: -1}
	db, err := kv.Open(dir, opts)
	require.NoError(t, err)
	for round := range 3 {
		for i := range 600 {
			if round == 0 || i%2 == 0 {
				_, err := db.Put("r", fmt.Sprintf("k%03d", i), kv.String(fmt.Sprintf("value %d of round %d", i, round)))
				require.NoError(t, err)
			}
		}
	}
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.Greater(t, st.SegmentsOut, 1)
	for i := range 600 {
		if i%3 == 0 {
			_, err := db.Put("r", fmt.Sprintf("k%03d", i), kv.String(fmt.Sprintf("value %d of round 9", i)))
			require.NoError(t, err)
		}
	}
	_, err = db.Delete("r", "k001")
	require.NoError(t, err)
	st, err = db.Compact(t.Context())
	require.NoError(t, err)
	require.Positive(t, st.VersionsDropped)
	s := db.Stats()
	require.NoError(t, db.Close())
	return dir, map[string]int{"keys": int(s.Keys), "versions": int(s.Versions), "last": int(s.LastVersion)}
}

func TestReviewInspectCompactedTwice(t *testing.T) {
	dir, want := compactedDir(t)
	r := inspect(t, "verify", dir)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "clean")
	require.NotContains(t, r.stdout, "WRONG")
	require.NotContains(t, r.stdout, "unusable")

	r = inspect(t, "segments", "-json", dir)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	var rows []segmentRow
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows))
	for _, row := range rows {
		require.Contains(t, []string{"ok", "none"}, row.Hint, "%+v", row)
	}

	r = inspect(t, "stats", "-json", dir)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	var rep statsReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Equal(t, want["keys"], rep.LiveKeys)
	require.Equal(t, want["versions"], rep.Versions)
	var sum int64
	for _, p := range rep.PerSegment {
		sum += p.Size
		require.Zero(t, p.DeadBytes, "%+v", p)
	}
	require.Equal(t, rep.Files, sum)

	db, err := kv.Open(dir, &kv.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	require.EqualValues(t, want["last"], db.LastVersion())
}
