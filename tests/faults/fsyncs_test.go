package faults_test

import (
	"fmt"
	"testing"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
	"github.com/stretchr/testify/require"
)

// Stats.Fsyncs "counts fsyncs since Open": compare with the fsyncs the
// file system saw.
func TestStatsFsyncsCountsEveryFsync(t *testing.T) {
	fs := newFaultFS()
	dir := t.TempDir()
	db, err := kvtest.OpenFS(fs, dir, &kv.Options{Durability: kv.Strict, SegmentSize: 8 << 10})
	require.NoError(t, err)
	defer db.Close()
	base := fs.SegSyncs()
	for i := 0; i < 200; i++ {
		_, err := db.Put("r", fmt.Sprintf("k%04d", i), val(i))
		require.NoError(t, err)
	}
	st := db.Stats()
	t.Logf("segments %d, groups %d, Stats.Fsyncs %d, fsyncs of segment files %d", st.Segments, st.Groups, st.Fsyncs, fs.SegSyncs()-base)
	require.EqualValues(t, fs.SegSyncs()-base, st.Fsyncs)
}
