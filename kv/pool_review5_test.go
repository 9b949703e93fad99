package kv

import (
	"fmt"
	"testing"

	"github.com/strata-kv/strata/index"
	"github.com/stretchr/testify/require"
)

// The review found that storedPool kept the largest slice any read asked
// for, and every later read of more than 16 values cleared all of it:
// after one scan with a large limit, each page of 100 cleared megabytes
// (58 times slower). Reads of more than maxPooled values now allocate, so
// the pools never hold more than maxPooled entries a slice.
func TestPoolsStayBoundedAfterALargeReadReview5(t *testing.T) {
	db := openT(t, &Options{Durability: InMemory})
	const keys = 20 * maxPooled
	batch := make([]KeyValue, 0, 1000)
	for i := range keys {
		batch = append(batch, KeyValue{Key: fmt.Sprintf("k%08d", i), Value: Int(int64(i))})
		if len(batch) == cap(batch) || i == keys-1 {
			_, err := db.MPut("r", batch)
			require.NoError(t, err)
			batch = batch[:0]
		}
	}
	p, err := db.Scan("r", "k", keys, "") // one large page, as a caller may ask
	require.NoError(t, err)
	require.Len(t, p.Entries, keys)
	for range 100 {
		p, err := db.Scan("r", "k", 100, "")
		require.NoError(t, err)
		require.Len(t, p.Entries, 100)
		sp := storedPool.Get().(*[][]byte)
		require.LessOrEqual(t, cap(*sp), maxPooled, "storedPool holds a slice grown by the large read")
		for _, b := range (*sp)[:cap(*sp)] {
			require.Nil(t, b, "storedPool holds a slice that still views stored bytes")
		}
		storedPool.Put(sp)
		rp := recsPool.Get().(*[]index.Record)
		require.LessOrEqual(t, cap(*rp), maxPooled, "recsPool holds a slice grown by the large read")
		recsPool.Put(rp)
	}
}
