package kv

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLatencyQuantile(t *testing.T) {
	var l latencies
	require.Zero(t, l.quantile(0.99), "nothing recorded")
	require.Equal(t, time.Duration(math.MaxInt64), upper(bucketOf(math.MaxInt64)))
	for i := 0; i < 990; i++ {
		l.record(time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		l.record(time.Second)
	}
	p99 := l.quantile(0.99)
	require.GreaterOrEqual(t, p99, time.Millisecond)
	require.LessOrEqual(t, p99, 5*time.Millisecond/4, "the 990th of 1000 is a millisecond")
	l.record(time.Second) // now 11 of 1001 are a second
	require.GreaterOrEqual(t, l.quantile(0.99), time.Second)
	require.LessOrEqual(t, l.quantile(0.99), 5*time.Second/4)

	for _, d := range []time.Duration{0, 1, 2, 3, 4, 5, 7, 8, 999, 1000, 1 << 40, 1<<61 + 1} {
		b := bucketOf(d)
		require.Greater(t, upper(b), d, "%v in bucket %d", d, b)
		require.Equal(t, upper(b), upper(bucketOf(upper(b)-1)), "%v: the bound's predecessor is in the same bucket", d)
		require.LessOrEqual(t, float64(upper(b)), 2*float64(max(d, 1)), "%v", d)
		if d >= 4 {
			require.LessOrEqual(t, float64(upper(b)), 1.25*float64(d)+1, "%v", d)
		}
	}
}

func TestStatsCountsCommitsGroupsAndFsyncs(t *testing.T) {
	db := openT(t, &Options{Durability: Strict})
	st := db.Stats()
	require.Zero(t, st.Commits)
	require.Zero(t, st.Groups)
	empty := st.IndexBytes
	require.Positive(t, empty)

	const writers, each = 8, 25
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := db.Put(DefaultRun, fmt.Sprintf("w%d-%d", g, i), Int(int64(i)))
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	_, err := db.MPut(DefaultRun, []KeyValue{{"a", Null()}, {"b", Null()}})
	require.NoError(t, err)
	_, err = db.Put(DefaultRun, "", Int(1)) // refused: not a commit
	require.Error(t, err)

	st = db.Stats()
	require.EqualValues(t, writers*each+1, st.Commits)
	require.GreaterOrEqual(t, st.Commits, st.Groups)
	require.Positive(t, st.Groups)
	require.GreaterOrEqual(t, st.Fsyncs, st.Groups, "Strict: an fsync per group")
	require.Positive(t, st.FsyncP99)
	require.Greater(t, st.IndexBytes, int64(0))
	require.GreaterOrEqual(t, st.IndexBytes, empty)

	before := db.Stats().Fsyncs
	require.NoError(t, db.Sync())
	require.Equal(t, before, db.Stats().Fsyncs, "Strict: nothing was left to sync")
}

func TestStatsBufferedGroupsAndIndexBytes(t *testing.T) {
	db := openT(t, &Options{SyncInterval: time.Hour})
	for i := 0; i < 10; i++ {
		_, err := db.Put(DefaultRun, fmt.Sprintf("k%d", i), Int(int64(i)))
		require.NoError(t, err)
	}
	st := db.Stats()
	require.EqualValues(t, 10, st.Commits)
	require.EqualValues(t, 10, st.Groups, "serial puts: a group each")
	require.Zero(t, st.Fsyncs, "Buffered with no background sync due yet")
	require.NoError(t, db.Sync())
	require.EqualValues(t, 1, db.Stats().Fsyncs)
	require.NoError(t, db.Sync())
	require.EqualValues(t, 2, db.Stats().Fsyncs, "the sync marker the first Sync appended")
	require.NoError(t, db.Sync())
	require.EqualValues(t, 2, db.Stats().Fsyncs, "nothing new to sync")

	// IndexBytes grows with keys, and far less than a heap object per key.
	batch := make([]KeyValue, 0, 1000)
	for i := 0; i < 50000; i++ {
		batch = append(batch, KeyValue{fmt.Sprintf("key:%012d", i), Int(1)})
		if len(batch) == cap(batch) {
			_, err := db.MPut(DefaultRun, batch)
			require.NoError(t, err)
			batch = batch[:0]
		}
	}
	grown := db.Stats().IndexBytes
	require.Greater(t, grown, st.IndexBytes)
	perKey := float64(grown-st.IndexBytes) / 50000
	require.Less(t, perKey, 16+80.0, "bytes per 16-byte key: %.1f", perKey)
	t.Logf("IndexBytes per 16-byte key: %.1f", perKey)
}
