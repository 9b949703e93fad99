package recovery

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// A segment may hold more than 4 GiB of keys (segments went up to
// 256 GiB; keys up to 1 KiB): the hint builder's key places stopped at
// 4096 chunks of 1 MiB, its Add failed, recovery ignored the failure and
// indexed the segment from a hint that lacked its last entries. The last
// commits vanished on Open. Since the index's records hold 32-bit value
// offsets (and kv.MaxSegmentSize is 1 GiB), no writer of this version
// makes such a segment, and recovery refuses one, saying why, rather
// than losing commits.
//
// It writes a 4.3 GB segment and needs about 5 GB of memory: set
// STRATA_REVIEW5_BIG=1 to run it.
func TestRecoverSegmentOver4GiBOfKeysReview5(t *testing.T) {
	if os.Getenv("STRATA_REVIEW5_BIG") == "" {
		t.Skip("set STRATA_REVIEW5_BIG=1: writes a 4.3 GB segment")
	}
	fs := vfs.Default
	d := t.TempDir()
	w, err := segment.Create(fs, d, 1, 1, 1000)
	require.NoError(t, err)
	const perCommit, commits = 4096, 1025 // 4,198,400 keys of 1 KiB: past 4 GiB
	ents := make([]segment.EntrySpec, perCommit)
	for i := range ents {
		k := fmt.Sprintf("%016d", i) + string(bytes.Repeat([]byte{'x'}, segment.MaxKeyLen-16))
		ents[i] = segment.EntrySpec{Op: segment.OpPut, Run: "run", Key: k, Value: []byte{1}}
	}
	v := uint64(0)
	for range commits {
		v++
		_, _, err := w.AppendCommit(v, int64(v)*1000, ents, nil)
		require.NoError(t, err)
		require.NoError(t, w.Flush())
	}
	v++
	_, _, err = w.AppendCommit(v, int64(v)*1000, []segment.EntrySpec{{Op: segment.OpPut, Run: "run", Key: "zzz-last", Value: []byte{2}}}, nil)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	require.NoError(t, w.Sync())
	require.NoError(t, w.Close(true))

	ix := index.New()
	defer ix.Close()
	res, err := Recover(fs, d, ix, Options{})
	if err == nil {
		res.Close()
	}
	require.ErrorIs(t, err, index.ErrRange, "a value past 4 GiB is refused, not lost")
}
