package kv

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 8, item 6, with the whole directory counted (hint files and
// manifest included), at a tenth of the size, the database's default
// segment size, and "one version of every key" taken as the bytes the
// keys and values take.
func TestReviewSpaceWholeDirectory(t *testing.T) {
	const keys = 10_000
	dir := t.TempDir()
	db, err := Open(dir, &Options{Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	require.NoError(t, err)
	var logical int64
	rng := rand.New(rand.NewPCG(1, 2))
	for j := range 10 {
		for i := range keys {
			k := fmt.Sprintf("key%013d", i)
			v := randString(rng, 100)
			mustPut(t, db, "r", k, String(v))
			if j == 9 {
				logical += int64(len(k) + len(v))
			}
		}
	}
	_, err = db.Compact(t.Context())
	require.NoError(t, err)
	require.NoError(t, db.Close())
	total := filesBytes(t, dir, func(string) bool { return true })
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		info, _ := e.Info()
		t.Logf("%s %d", e.Name(), info.Size())
	}
	t.Logf("directory %d bytes, segments %d, keys+values %d: %.2fx", total, dirBytes(t, dir), logical, float64(total)/float64(logical))
	require.LessOrEqual(t, float64(total), 1.5*float64(logical))
}

func randString(rng *rand.Rand, n int) string {
	const alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[rng.IntN(len(alpha))]
	}
	return string(b)
}
