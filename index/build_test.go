package index

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// buildFrom lays out a new index from model (run -> key -> versions,
// oldest first), in order.
func buildFrom(t testing.TB, model map[string]map[string][]uint64, tomb func(uint64) bool) *Index {
	ix := New()
	b, err := ix.Build(10)
	require.NoError(t, err)
	runs := make([]string, 0, len(model))
	for run := range model {
		runs = append(runs, run)
	}
	slices.Sort(runs)
	for _, run := range runs {
		keys := make([]string, 0, len(model[run]))
		for k := range model[run] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, v := range model[run][k] {
				require.NoError(t, b.Add([]byte(run), []byte(k), mkrec(v, tomb(v))))
			}
		}
	}
	require.NoError(t, b.Finish())
	return ix
}

func TestBuildMatchesAdd(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		ref := New()
		model := loadRandom(t, ref, seed, 5000)
		tombs := map[uint64]bool{}
		for _, keys := range model {
			for k, vs := range keys {
				for _, v := range vs {
					r, _ := ref.Get(runOf(t, ref, model, k, v), k, v)
					tombs[v] = r.Tombstone()
				}
			}
		}
		ix := buildFrom(t, model, func(v uint64) bool { return tombs[v] })
		checkAgainst(t, ix, model)
		k1, l1, v1 := ref.Counts()
		k2, l2, v2 := ix.Counts()
		require.Equal(t, [3]int64{k1, l1, v1}, [3]int64{k2, l2, v2}, "keys, live, versions")

		// Memory follows key order, and the index goes on as usual.
		for run := range model {
			prev := uint32(0)
			for it := ix.Seek(run, ""); it.Valid(); it.Next() {
				require.Greater(t, it.ref, prev)
				prev = it.ref
			}
		}
		v := uint64(1 << 20)
		require.NoError(t, ix.Add("run0", "after-build", mkrec(v, false)))
		model["run0"]["after-build"] = []uint64{v}
		require.NoError(t, ix.Add("new-run", "k", mkrec(v+1, false)))
		model["new-run"] = map[string][]uint64{"k": {v + 1}}
		checkAgainst(t, ix, model)
		ix.Close()
		ref.Close()
	}
}

// runOf finds the run of model holding version v of key k.
func runOf(t testing.TB, ix *Index, model map[string]map[string][]uint64, k string, v uint64) string {
	for run, keys := range model {
		if slices.Contains(keys[k], v) {
			return run
		}
	}
	t.Fatalf("version %d of %q not in the model", v, k)
	return ""
}

func TestBuildRefusesDisorder(t *testing.T) {
	for name, adds := range map[string][][3]string{
		"runs out of order":     {{"b", "k", "1"}, {"a", "k", "2"}},
		"keys out of order":     {{"a", "k2", "1"}, {"a", "k1", "2"}},
		"versions out of order": {{"a", "k", "2"}, {"a", "k", "1"}},
		"a version twice":       {{"a", "k", "2"}, {"a", "k", "2"}},
	} {
		ix := New()
		b, err := ix.Build(0)
		require.NoError(t, err)
		var last error
		for _, a := range adds {
			last = b.Add([]byte(a[0]), []byte(a[1]), mkrec(uint64(a[2][0]-'0'), false))
		}
		require.Error(t, last, name)
		require.Error(t, b.Finish(), name)
		ix.Close()
	}
	ix := New()
	require.NoError(t, ix.Add("r", "k", mkrec(1, false)))
	_, err := ix.Build(0)
	require.Error(t, err, "the index is not empty")
}

// BenchmarkBuild measures laying out 1M keys given in order, as recovery
// does from hint files: compare with BenchmarkAdd.
func BenchmarkBuild(b *testing.B) {
	keys := benchKeys(1 << 20)
	run := []byte("default")
	b.ReportAllocs()
	for b.Loop() {
		ix := New()
		bl, err := ix.Build(len(keys))
		if err != nil {
			b.Fatal(err)
		}
		for i, k := range keys {
			if err := bl.Add(run, []byte(k), mkrec(uint64(i+1), false)); err != nil {
				b.Fatal(err)
			}
		}
		if err := bl.Finish(); err != nil {
			b.Fatal(err)
		}
		ix.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(keys)), "ns/key")
}

func TestResetThenBuild(t *testing.T) {
	ix := New()
	loadRandom(t, ix, 3, 2000)
	ix.Reset()
	keys, live, versions := ix.Counts()
	require.Zero(t, keys+live+versions)
	_, ok := ix.Find("run0", "k-shared-prefix-1")
	require.False(t, ok)
	it := ix.Seek("run0", "")
	require.False(t, it.Valid())

	b, err := ix.Build(0)
	require.NoError(t, err, "empty again")
	require.NoError(t, b.Add([]byte("run9"), []byte("k"), mkrec(1, false)))
	require.NoError(t, b.Finish())
	c, ok := ix.Find("run9", "k")
	require.True(t, ok)
	require.Equal(t, "k", c.Key())
	ix.Close()
}
