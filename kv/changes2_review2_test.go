package kv

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func feedAll(t *testing.T, db *DB, run RunID, after Version, limit int) []Change {
	var out []Change
	for i := 0; i < 100000; i++ {
		cs, err := db.Changes(run, "", after, limit)
		require.NoError(t, err)
		if len(cs) == 0 {
			return out
		}
		out = append(out, cs...)
		after = cs[len(cs)-1].Version
	}
	t.Fatal("no end")
	return nil
}

// Changes in memory, across many rolls, paged at several sizes.
func TestReview2ChangesInMemory(t *testing.T) {
	db := openT(t, &Options{Durability: InMemory, SegmentSize: 1 << 10})
	var want []Version
	for i := range 300 {
		v := mustPut(t, db, RunID(fmt.Sprint("r", i%3)), fmt.Sprintf("k%d", i%17), Int(int64(i)))
		if i%3 == 0 {
			want = append(want, v)
		}
	}
	require.Greater(t, db.Stats().Segments, 5)
	for _, lim := range []int{1, 7, 0} {
		var got []Version
		for _, c := range feedAll(t, db, "r0", 0, lim) {
			got = append(got, c.Version)
		}
		require.Equal(t, want, got, "limit %d", lim)
	}
}

// A read-only open of a directory whose newest segment has a torn tail
// (a crash) serves its versions; Changes reads them too.
func TestReview2ChangesReadOnlyTornTail(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 1 << 20})
	require.NoError(t, err)
	for i := range 20 {
		mustPut(t, db, "r", fmt.Sprintf("k%d", i), Int(int64(i)))
	}
	require.NoError(t, db.Close())
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	var segs []string
	for _, n := range names {
		if st, err := os.Stat(n); err == nil && st.Size() > 200 && filepath.Ext(n) != ".hint" {
			segs = append(segs, n)
		}
	}
	sort.Strings(segs)
	require.NotEmpty(t, segs)
	newest := segs[len(segs)-1]
	f, err := os.OpenFile(newest, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9}) // a torn frame
	require.NoError(t, err)
	require.NoError(t, f.Close())

	ro, err := Open(dir, &Options{ReadOnly: true})
	require.NoError(t, err)
	defer ro.Close()
	t.Logf("recovery: %+v, newest %s", ro.Recovery(), filepath.Base(newest))
	require.EqualValues(t, 20, ro.LastVersion())
	cs, err := ro.Changes("r", "", 0, 1000)
	require.NoError(t, err)
	require.Len(t, cs, 20)
}
