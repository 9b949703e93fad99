package segment

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// The hint's order (radix sort on the runs' ranks and the keys' first 16
// bytes, then a comparison within ties) is (run name, key, version) for
// every shape of key: shared 16-byte prefixes, keys that are zero-padded
// prefixes of others, long and empty-tailed keys, many runs, several
// versions of a key in any order of arrival, one entry and none.
func TestHintOrderMatchesAComparisonSort(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	shapes := []func() []byte{
		func() []byte { return fmt.Appendf(nil, "key:%012d", r.IntN(5000)) },
		func() []byte { return fmt.Appendf(nil, "user/0000000000000001/%d", r.IntN(300)) }, // 16 bytes shared
		func() []byte { return []byte{byte('a' + r.IntN(3)), byte(r.IntN(2))}[:1+r.IntN(2)] },
		func() []byte { return append([]byte("prefix-sixteen-b"), make([]byte, r.IntN(3))...) },
		func() []byte {
			b := make([]byte, 1+r.IntN(40))
			for i := range b {
				b[i] = byte(r.IntN(4)) * 85
			}
			return b
		},
	}
	for _, n := range []int{0, 1, 2, 3, 100, 5000} {
		var b HintBuilder
		type ent struct {
			run, key []byte
			v        uint64
		}
		var want []ent
		seen := map[string]uint64{}
		for i := range n {
			run := []byte(fmt.Sprintf("run%d", r.IntN(1+n/500)))
			key := shapes[r.IntN(len(shapes))]()
			id := string(run) + "\\x00" + string(key)
			v := seen[id] + 1 + uint64(r.IntN(3))
			seen[id] = v
			require.NoError(t, b.add(run, key, v, int64(i), int64(100+i), 1, OpPut, 0))
			want = append(want, ent{run, key, v})
		}
		slices.SortFunc(want, func(x, y ent) int {
			return cmp.Or(bytes.Compare(x.run, y.run), bytes.Compare(x.key, y.key), cmp.Compare(x.v, y.v))
		})
		got := b.sorted()
		require.Len(t, got, n)
		for i := range got {
			require.Equal(t, string(want[i].run), string(got[i].Run), "entry %d of %d", i, n)
			require.Equal(t, want[i].key, got[i].Key, "entry %d of %d", i, n)
			require.Equal(t, want[i].v, got[i].Version, "entry %d of %d", i, n)
		}
	}
}
