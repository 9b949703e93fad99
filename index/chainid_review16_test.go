package index

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Chain.ID names one key of one run: keys of the same name in other runs
// (a fork's links included), deleted keys and keys whose versions were
// all dropped keep IDs of their own, and a key's ID is the same at every
// Find, whatever was added, relocated, dropped or rehashed since.
func TestReview16ChainIDUniqueAndStable(t *testing.T) {
	ix := New()
	defer ix.Close()
	v := uint64(0)
	next := func() uint64 { v++; return v }
	const n = 5000 // several grows of the table
	for i := range n {
		require.NoError(t, ix.Add("src", fmt.Sprintf("k%d", i), mkrec(next(), false)))
	}
	ids := map[uint32]string{}
	see := func(run, key string) uint32 {
		c, ok := ix.Find(run, key)
		require.True(t, ok, "%s/%s", run, key)
		id := c.ID()
		require.NotZero(t, id)
		if prev, ok := ids[id]; ok {
			require.Equal(t, run+"/"+key, prev, "ID %d names two keys", id)
		}
		ids[id] = run + "/" + key
		return id
	}
	first := make([]uint32, n)
	for i := range n {
		first[i] = see("src", fmt.Sprintf("k%d", i))
	}
	at := v
	_, err := ix.ForkRun("src", "dst", at, next(), 1)
	require.NoError(t, err)
	_, err = ix.DeleteRun("src", next(), 1)
	require.NoError(t, err)
	for i := range n {
		k := fmt.Sprintf("k%d", i)
		if i%2 == 0 {
			c, _ := ix.Find("src", k)
			require.NotZero(t, c.Drop(newestVersion(t, c)))
		}
		require.NoError(t, ix.Add("other", k, mkrec(next(), false)))
	}
	for i := range n {
		k := fmt.Sprintf("k%d", i)
		require.Equal(t, first[i], see("src", k), "src/%s after drops and grows", k)
		see("dst", k)
		see("other", k)
	}
	require.Len(t, ids, 3*n)
	require.Zero(t, Chain{}.ID())
}

// newestVersion returns the version of the chain's newest record.
func newestVersion(t *testing.T, c Chain) uint64 {
	r, ok := c.Newest()
	require.True(t, ok)
	return r.Version
}

// A grow rehashes every key, of every length (the prefetch of a node
// reads 24 bytes in, past a short node's key), and every key is found
// after it, with its versions.
func TestReview16GrowKeepsEveryKey(t *testing.T) {
	ix := New()
	defer ix.Close()
	model := map[string]map[string][]uint64{}
	v := uint64(0)
	for i := range 20000 {
		run := fmt.Sprintf("r%d", i%3)
		key := strings.Repeat("k", i%70) + fmt.Sprint(i/70)
		if i%1000 == 0 {
			key = strings.Repeat("x", 3000+i) // long keys too
		}
		v++
		require.NoError(t, ix.Add(run, key, mkrec(v, false)))
		if model[run] == nil {
			model[run] = map[string][]uint64{}
		}
		model[run][key] = append(model[run][key], v)
	}
	checkAgainst(t, ix, model)
}
