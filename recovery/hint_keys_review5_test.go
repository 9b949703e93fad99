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

// A segment may hold more than 4 GiB of keys (segments go up to
// kv.MaxSegmentSize, 256 GiB; keys up to 1 KiB): the hint builder's key
// places stop at 4096 chunks of 1 MiB, its Add fails, recovery ignores
// the failure and indexes the segment from a hint that lacks its last
// entries. The last commits vanish on Open.
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
	require.NoError(t, err)
	defer res.Close()
	require.EqualValues(t, v, res.LastVersion)
	r, ok := ix.Get("run", "zzz-last", v)
	require.True(t, ok, "the last commit's key is missing from the recovered index")
	require.EqualValues(t, v, r.Version)
	r, ok = ix.Get("run", ents[0].Key, v)
	require.True(t, ok)
	require.EqualValues(t, commits, r.Version, "the newest version of a key written by every commit")
}
