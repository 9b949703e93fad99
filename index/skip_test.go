package index

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSkipWords checks the skip word of every later version, written by
// Add, Build, DeleteRun and ForkRun (a link's skip sits before it as any
// record's does, its source after it), and that walks read every version
// through chains of every length.
func TestSkipWords(t *testing.T) {
	model := map[string]map[string][]uint64{"a": {}}
	ix := New()
	defer ix.Close()
	v := uint64(0)
	for n := 1; n <= 12; n++ {
		k := fmt.Sprintf("key%02d", n)
		for range n {
			v++
			require.NoError(t, ix.Add("a", k, mkrec(v, false)))
			model["a"][k] = append(model["a"][k], v)
		}
	}
	checkAgainst(t, ix, model)
	built := buildFrom(t, model, func(uint64) bool { return false })
	defer built.Close()
	checkAgainst(t, built, model)

	// Forks add links; a deletion of the fork adds tombstones over them.
	for i := range 3 {
		dst := fmt.Sprintf("f%d", i)
		v++
		_, err := ix.ForkRun("a", dst, v-1, v, 1)
		require.NoError(t, err)
		v++
		require.NoError(t, ix.Add(dst, "key05", mkrec(v, false)))
		v++
		_, err = ix.DeleteRun(dst, v, 1)
		require.NoError(t, err)
		v++
		_, err = ix.ForkRun("a", dst, v-1, v, 1)
		require.NoError(t, err)
	}
	for i := range 3 {
		dst := fmt.Sprintf("f%d", i)
		n := 0
		for it := ix.Seek(dst, ""); it.Valid(); it.Next() {
			c := it.Chain()
			checkSkips(t, c)
			var raw int
			c.Raw(func(Record) bool { raw++; return true })
			want := 3 // link, tombstone, link
			if c.KeyView() == "key05" {
				want = 4 // link, put, tombstone, link
			}
			require.Equal(t, want, raw, "%s/%s", dst, c.KeyView())
			var hist []uint64
			c.Versions(v, func(r Record) bool { hist = append(hist, r.Version); return true })
			require.Len(t, hist, len(model["a"][c.KeyView()]), "a fork reads its source's history")
			n++
		}
		require.Equal(t, 12, n)
	}
}

// BenchmarkVersions10 measures the walk of a key's 10 versions among
// 100k keys whose versions were added in 10 rounds over every key (so a
// key's records lie 100k records apart): bench/'s W3 without the values.
func BenchmarkVersions10(b *testing.B) {
	keys := benchKeys(100_000)
	ix := New()
	defer ix.Close()
	v := uint64(0)
	for range 10 {
		for _, k := range keys {
			v++
			if err := ix.Add("default", k, mkrec(v, false)); err != nil {
				b.Fatal(err)
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	sum := uint64(0)
	for b.Loop() {
		c, _ := ix.Find("default", keys[r.IntN(len(keys))])
		n := 0
		c.Versions(v, func(x Record) bool { sum += uint64(x.Field); n++; return true })
		if n != 10 {
			b.Fatal(n)
		}
	}
	runtime.KeepAlive(sum)
}
