package index

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// SeekLT and Prev walk a run backwards, from below any bound, and never
// stray into another run.
func TestSeekLTAndPrev(t *testing.T) {
	ix := New()
	defer ix.Close()
	var keys []string
	for i := range 300 {
		k := fmt.Sprintf("k%03d", i*7%300)
		require.NoError(t, ix.Add("b", k, Record{Version: uint64(i + 1)}))
		require.NoError(t, ix.Add("a", k, Record{Version: uint64(1000 + i)}))
		require.NoError(t, ix.Add("c", k, Record{Version: uint64(2000 + i)}))
		keys = append(keys, k)
	}
	slices.Sort(keys)
	back := func(it Iterator) []string {
		var got []string
		run := ""
		for ; it.Valid(); it.Prev() {
			if run == "" {
				run = it.Chain().Run()
			}
			require.Equal(t, run, it.Chain().Run())
			got = append(got, it.Chain().Key())
		}
		return got
	}
	rev := slices.Clone(keys)
	slices.Reverse(rev)
	require.Equal(t, rev, back(ix.SeekLT("b", "")), "from the run's last key")
	require.Equal(t, rev, back(ix.SeekLT("a", "")), "a run numbered between two others")
	require.Equal(t, rev, back(ix.SeekLT("c", "")), "the last run")
	require.Equal(t, rev[1:], back(ix.SeekLT("b", keys[len(keys)-1])), "below the last key")
	i, _ := slices.BinarySearch(keys, "k150")
	require.Equal(t, rev[len(keys)-i:], back(ix.SeekLT("b", "k150")), "below a key present")
	require.Equal(t, rev[len(keys)-i-1:], back(ix.SeekLT("b", "k1505")), "below a key absent")
	require.Empty(t, back(ix.SeekLT("b", keys[0])), "nothing below the first key")
	require.Empty(t, back(ix.SeekLT("b", "a")))
	require.Empty(t, back(ix.SeekLT("nosuch", "")))
	var empty Iterator
	empty.Prev()
	require.False(t, empty.Valid())
}
