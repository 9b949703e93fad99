package kv

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// InMemory "touches no disk": DB.Sync fsyncs nothing there, and roll
// skips its fsync of the old segment in that mode. Stats.Fsyncs counts
// "the fsyncs of segment files since Open" and FsyncP99 their latency;
// an InMemory database has no file to fsync, so both stay 0 however
// many segments it seals.
func TestReview53InMemoryStatsCountNoFsyncs(t *testing.T) {
	db := openT(t, &Options{Durability: InMemory, SegmentSize: 4096, CompactAt: -1})
	for i := 0; i < 300; i++ {
		mustPut(t, db, DefaultRun, fmt.Sprintf("k%04d", i), String("a value of some forty bytes, padded....."))
	}
	require.NoError(t, db.Sync())
	st := db.Stats()
	require.Greater(t, st.Segments, 2, "the test must seal segments")
	require.EqualValues(t, 300, st.Commits)
	require.Zero(t, st.Fsyncs, "InMemory: fsyncs counted (Segments %d)", st.Segments)
	require.Zero(t, st.FsyncP99, "InMemory: an fsync latency reported")
}
