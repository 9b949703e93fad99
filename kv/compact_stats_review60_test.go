package kv

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/segment"
)

// Stats and CompactStats against the files: before a Compact that may
// drop 9 versions in 10, DeadBytes is most of the bytes and LiveBytes +
// DeadBytes is the segment bytes; the Compact's SegmentsIn / SegmentsOut
// are the segment files it removed and added, BytesReclaimed the bytes
// those files shrank by, VersionsDropped the versions Stats no longer
// counts; afterwards DeadBytes is 0 and a second Compact does nothing.
func TestCompactStatsMatchFilesReview60(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 16 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	const keys, versions = 300, 10
	for j := range versions {
		for i := range keys {
			mustPut(t, db, "r", fmt.Sprintf("k%04d", i), Bytes([]byte(fmt.Sprintf("%04d-%02d-%s", i, j, "xQ7#pL2@vN9!rT4$wK8%zM1^bH5&cJ3*"))))
		}
	}
	require.NoError(t, db.Sync())
	segFiles := func() map[string]int64 {
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		m := map[string]int64{}
		for _, e := range ents {
			if _, ok := segment.ParseFileName(e.Name()); ok {
				fi, err := e.Info()
				require.NoError(t, err)
				m[e.Name()] = fi.Size()
			}
		}
		return m
	}
	before := db.Stats()
	require.EqualValues(t, keys*versions, before.Versions)
	total := before.LiveBytes + before.DeadBytes
	t.Logf("before: %+v", before)
	require.Greater(t, float64(before.DeadBytes), 0.7*float64(total), "9 versions in 10 may go")
	filesBefore := segFiles()
	require.Equal(t, len(filesBefore), before.Segments)

	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	t.Logf("compact: %+v", st)
	after := db.Stats()
	t.Logf("after: %+v", after)
	filesAfter := segFiles()
	var gone, added int
	var goneBytes, addedBytes int64
	for n, sz := range filesBefore {
		if _, ok := filesAfter[n]; !ok {
			gone++
			goneBytes += sz
		}
	}
	for n, sz := range filesAfter {
		if _, ok := filesBefore[n]; !ok {
			added++
			addedBytes += sz
		}
	}
	require.Equal(t, len(filesAfter), after.Segments)
	require.EqualValues(t, keys*(versions-1), st.VersionsDropped)
	require.EqualValues(t, keys, after.Versions, "Stats.Versions: versions held")
	require.Zero(t, after.DeadBytes)
	// Files the Compact removed and wrote. (Compact seals the active
	// segment first: that one is among the inputs, and the new active
	// segment among the files added.)
	t.Logf("files removed %d (%d bytes), added %d (%d bytes)", gone, goneBytes, added, addedBytes)
	require.Equal(t, gone, st.SegmentsIn, "SegmentsIn")
	require.LessOrEqual(t, st.SegmentsOut, added, "SegmentsOut")
	require.InDelta(t, float64(goneBytes-addedBytes), float64(st.BytesReclaimed), float64(segment.HeaderSize*4+(16<<10)), "BytesReclaimed vs the files")

	st2, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.Equal(t, CompactStats{}, st2, "nothing left to drop")
}
