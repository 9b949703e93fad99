package index

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkAgainst compares every key of model (run -> key -> versions added,
// oldest first) with the index: order, point lookups, chains.
func checkAgainst(t *testing.T, ix *Index, model map[string]map[string][]uint64) {
	t.Helper()
	for run, keys := range model {
		var want []string
		for k, vs := range keys {
			want = append(want, k)
			c, ok := ix.Find(run, k)
			require.True(t, ok, "%s/%s", run, k)
			checkSkips(t, c)
			var got []uint64
			c.Versions(1<<60, func(r Record) bool {
				require.Equal(t, int64(r.Version)*100, r.Field, "the record of version %d", r.Version)
				got = append(got, r.Version)
				return true
			})
			newestFirst := make([]uint64, len(vs))
			for i, v := range vs {
				newestFirst[len(vs)-1-i] = v
			}
			require.Equal(t, newestFirst, got, "%s/%s", run, k)
			r, ok := ix.Get(run, k, vs[0])
			require.True(t, ok)
			require.Equal(t, vs[0], r.Version)
		}
		sort.Strings(want)
		require.Equal(t, want, keysOf(ix, run, ""), "run %s", run)
		if len(want) > 2 {
			require.Equal(t, want[1:], keysOf(ix, run, want[1]), "seek in run %s", run)
		}
	}
	_, ok := ix.Find("nope", "k")
	require.False(t, ok)
}

func loadRandom(t *testing.T, ix *Index, seed uint64, versions int) map[string]map[string][]uint64 {
	r := rand.New(rand.NewPCG(seed, 1))
	model := map[string]map[string][]uint64{}
	v := uint64(0)
	for range versions {
		run := fmt.Sprintf("run%d", r.IntN(4))
		// Keys of every length around the 16 bytes the sort compares
		// first, sharing prefixes.
		key := fmt.Sprintf("%s%d", "k-shared-prefix-"[:r.IntN(17)], r.IntN(300))
		if r.IntN(5) == 0 {
			key += "\x00"
		}
		v++
		require.NoError(t, ix.Add(run, key, mkrec(v, r.IntN(7) == 0)))
		if model[run] == nil {
			model[run] = map[string][]uint64{}
		}
		model[run][key] = append(model[run][key], v)
	}
	return model
}

// checkSkips checks every later version's skip word in chain c: the ref
// of the record two older, 0 where that is the node's first version or
// there is none.
func checkSkips(t *testing.T, c Chain) {
	t.Helper()
	for ref, n := c.ix.first(c.ref).link, 0; ref != 0; n++ {
		r := c.ix.rec(ref)
		want := uint32(0)
		if r.link != 0 {
			want = c.ix.rec(r.link).link
		}
		require.Equal(t, want, *r.skip(), "the skip word of the chain's record %d from the newest", n)
		ref = r.link
	}
}
