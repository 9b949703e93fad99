package recovery

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// A segment holding a commit beyond what the index's records hold (here
// a timestamp past 2255; versions start at 1, so 2^48 of them cannot be
// crafted) is refused with an error that says so: nothing is indexed
// wrong or dropped in silence.
func TestRecoverRefusesRecordsBeyondTheIndexLimits(t *testing.T) {
	fs := vfs.Default
	d := t.TempDir()
	w, err := segment.Create(fs, d, 1, 1, index.MaxTimestamp)
	require.NoError(t, err)
	ents := []segment.EntrySpec{{Op: segment.OpPut, Run: "run", Key: "k", Value: []byte{1}}}
	for v := uint64(1); v <= 2; v++ { // the second commit's timestamp is one past the limit
		_, _, err := w.AppendCommit(v, index.MaxTimestamp+int64(v)-1, ents, nil)
		require.NoError(t, err)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, w.Sync())
	require.NoError(t, w.Close(true))

	ix := index.New()
	defer ix.Close()
	res, err := Recover(fs, d, ix, Options{})
	if err == nil {
		res.Close()
	}
	require.ErrorIs(t, err, index.ErrRange)
	require.Contains(t, err.Error(), "beyond the index's limits")
}
