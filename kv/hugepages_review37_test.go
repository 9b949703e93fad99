package kv

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// review37Value is a 2 KiB value that names its key and generation and
// checks itself.
func review37Value(key, gen int) []byte {
	v := make([]byte, 2048)
	r := rand.New(rand.NewPCG(uint64(key), uint64(gen)))
	for i := 12; i < len(v); i++ {
		v[i] = byte(r.Uint32())
	}
	binary.LittleEndian.PutUint32(v[0:], uint32(key))
	binary.LittleEndian.PutUint32(v[4:], uint32(gen))
	binary.LittleEndian.PutUint32(v[8:], crc32.ChecksumIEEE(v[12:]))
	return v
}

func review37Check(key int, v []byte) error {
	if len(v) != 2048 || int(binary.LittleEndian.Uint32(v[0:])) != key ||
		binary.LittleEndian.Uint32(v[8:]) != crc32.ChecksumIEEE(v[12:]) ||
		!bytes.Equal(v, review37Value(key, int(binary.LittleEndian.Uint32(v[4:])))) {
		return fmt.Errorf("key %d: bad value", key)
	}
	return nil
}

// TestReview37RecacheUnderReadersAndCompaction: segments sealed,
// recached, compacted away (and their files removed) while readers read
// them; then Close while the background goroutine may be recaching, and
// a reopen. Every read returns the value written.
func TestReview37RecacheUnderReadersAndCompaction(t *testing.T) {
	dir := t.TempDir()
	const keys = 3000
	opts := &Options{SegmentSize: 4 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: 0.3}
	latest := make([]atomic.Int64, keys)
	for round := range 3 {
		db, err := Open(dir, opts)
		require.NoError(t, err)
		var stop atomic.Bool
		var wg sync.WaitGroup
		var bad atomic.Int64
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), uint64(round)))
				for !stop.Load() {
					k := r.IntN(keys)
					written := latest[k].Load() > 0
					v, ok, err := db.Get(DefaultRun, fmt.Sprintf("k%05d", k))
					if err != nil || !ok {
						if err != nil || written {
							bad.Add(1)
							t.Errorf("get k%05d: %v %v", k, ok, err)
						}
						continue
					}
					b, _ := v.Value.AsBytes()
					if err := review37Check(k, b); err != nil {
						bad.Add(1)
						t.Error(err)
					}
				}
			}()
		}
		gen := 1 + round*100
		for gen < 1+round*100+60 { // 60 x 200 x 2 KiB: 24 MiB, 6 segments
			batch := make([]KeyValue, 0, 200)
			for range 200 {
				k := rand.IntN(keys)
				batch = append(batch, KeyValue{Key: fmt.Sprintf("k%05d", k), Value: Bytes(review37Value(k, gen))})
			}
			_, err := db.MPut(DefaultRun, batch)
			require.NoError(t, err)
			for _, kv := range batch {
				var k int
				fmt.Sscanf(kv.Key, "k%05d", &k)
				latest[k].Store(int64(gen))
			}
			gen++
		}
		cs, err := db.Compact(context.Background()) // removes segments under the readers
		require.NoError(t, err)
		t.Logf("round %d: compaction %+v", round, cs)
		stop.Store(true)
		wg.Wait()
		require.Zero(t, bad.Load())
		st := db.Stats()
		t.Logf("round %d: %d generations written, %d segments in use at the end", round, gen-1-round*100, st.Segments)
		require.NoError(t, db.Close()) // the last roll's recache may be running
	}
	names, _ := os.ReadDir(dir)
	t.Logf("%d directory entries at the end", len(names))
	db, err := Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	for k := range keys {
		v, ok, err := db.Get(DefaultRun, fmt.Sprintf("k%05d", k))
		require.NoError(t, err)
		if ok {
			b, _ := v.Value.AsBytes()
			require.NoError(t, review37Check(k, b))
		}
	}
}
