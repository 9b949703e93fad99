package recovery_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/recovery"
)

// compactAfterProgress is the OS file system, except that the first Open
// of a segment file after Progress reported bytes read runs hook first
// (a writer compacting while Verify is part way through).
type compactAfterProgress struct {
	vfs.FS
	read  *atomic.Bool
	fired atomic.Bool
	hook  func()
}

func (f *compactAfterProgress) Open(name string) (vfs.File, error) {
	if strings.HasSuffix(name, ".seg") && f.read.Load() && f.fired.CompareAndSwap(false, true) {
		f.hook()
	}
	return f.FS.Open(name)
}

// Review 65. Verify "starts again" (99409ba) when a compaction beside it
// removed a segment it listed; each pass calls Progress from 0 again, so
// Progress, "called as the segments are read, with the bytes read so
// far", goes backwards (a progress bar that falls back; done below a
// value it already reported).
func TestReview65VerifyRestartProgressGoesBackwards(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{SegmentSize: 4096, Retention: kv.Retention{KeepVersions: 1}, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	for round := range 3 {
		for i := range 300 {
			_, err := db.Put("r", fmt.Sprintf("k%03d", i), kv.String(fmt.Sprintf("value %d of round %d", i, round)))
			require.NoError(t, err)
		}
	}
	var read atomic.Bool
	var st kv.CompactStats
	fsys := &compactAfterProgress{FS: vfs.Default, read: &read, hook: func() {
		st, err = db.Compact(t.Context())
		require.NoError(t, err)
	}}
	var dones []int64
	rep, verr := recovery.Verify(fsys, dir, recovery.VerifyOptions{Progress: func(done, total int64) {
		dones = append(dones, done)
		if done > 0 {
			read.Store(true)
		}
	}})
	require.True(t, fsys.fired.Load(), "the compaction ran during Verify")
	require.Positive(t, st.SegmentsIn)
	require.NoError(t, verr)
	require.False(t, rep.Corrupt(), "%v", rep.Problems)
	for i := 1; i < len(dones); i++ {
		require.GreaterOrEqual(t, dones[i], dones[i-1], "Progress went back from %d to %d bytes done (call %d of %d)", dones[i-1], dones[i], i, len(dones))
	}
}
