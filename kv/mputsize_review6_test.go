package kv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// allocDuring returns the bytes the heap allocated while f ran.
func allocDuring(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// MPut grows its request's value buffer once, from storedSizeHint summed
// over every entry: the values' raw sizes. What the buffer then receives
// is the stored bytes of the entries written: compressed, once per key,
// and nothing at all when a value is invalid. So a batch allocates in
// proportion to what its entries reference, not to what it stores: a
// batch of compressible values (or of entries sharing one value), a
// batch that repeats a key, and a batch refused for an invalid value all
// allocate many times what they write (before 878809b: about what they
// write). Entries sharing one large value make the "hint" as large as
// the caller likes (1000 entries of one 16 MiB string: 16 GB, an OOM
// crash), though the batch stores little or is refused.
func TestMPutBufferFollowsStoredBytesReview6(t *testing.T) {
	if raceEnabled {
		t.Skip("counts allocations: under -race sync.Pool drops what it is given at random")
	}
	const mib = 1 << 20
	rng := rand.New(rand.NewPCG(6, 6))
	random := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return string(b)
	}
	t.Run("compressible", func(t *testing.T) {
		db := openT(t, &Options{Durability: InMemory})
		v := strings.Repeat("strata compresses this text well. ", mib/4/34) // ~256 KiB, stored in far less
		batch := make([]KeyValue, 512)
		for i := range batch {
			batch[i] = KeyValue{fmt.Sprint("k", i), String(v)}
		}
		n := allocDuring(func() {
			_, err := db.MPut("r", batch)
			require.NoError(t, err)
		})
		t.Logf("a batch of %d MiB of raw values allocated %d MiB", len(batch)*len(v)/mib, n/mib)
		require.Less(t, n, uint64(32*mib), "MPut of compressible values allocated their raw size")
	})
	t.Run("repeated key", func(t *testing.T) {
		db := openT(t, &Options{Durability: InMemory})
		v := String(random(mib)) // incompressible
		batch := make([]KeyValue, 200)
		for i := range batch {
			batch[i] = KeyValue{"same", v} // one key: one value written
		}
		n := allocDuring(func() {
			_, err := db.MPut("r", batch)
			require.NoError(t, err)
		})
		t.Logf("a batch writing one 1 MiB value allocated %d MiB", n/mib)
		require.Less(t, n, uint64(32*mib), "MPut counted the values of overwritten entries")
	})
	t.Run("invalid value", func(t *testing.T) {
		db := openT(t, &Options{Durability: InMemory, MaxValueBytes: mib})
		v := String(random(mib + 1)) // over MaxValueBytes
		batch := make([]KeyValue, 200)
		for i := range batch {
			batch[i] = KeyValue{fmt.Sprint("k", i), v}
		}
		var err error
		n := allocDuring(func() { _, err = db.MPut("r", batch) })
		require.True(t, errors.Is(err, ErrInvalidValue), "%v", err)
		t.Logf("a refused batch allocated %d MiB", n/mib)
		require.Less(t, n, uint64(32*mib), "MPut allocated for a batch it refuses")
	})
}

// The same over-count turned into a crash: a batch whose entries share
// one value too large to store is refused (ErrInvalidValue) before
// 878809b; now the sum of the raw sizes, past what one allocation may be
// (2^48 bytes on amd64), makes slices.Grow panic. (A sum below that but
// above the machine's memory is a fatal out-of-memory instead, which no
// recover catches; not run here.)
func TestMPutSharedHugeValuePanicsReview6(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocates about 0.6 GB (1.6 GB under -race)")
	}
	db := openT(t, &Options{Durability: InMemory})
	v := String(strings.Repeat("x", 1<<28)) // 256 MiB: over MaxValueBytes
	batch := make([]KeyValue, 1<<20+1<<16)
	for i := range batch {
		batch[i] = KeyValue{fmt.Sprintf("k%07d", i), v}
	}
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("MPut panicked: %v", p)
			}
		}()
		_, err = db.MPut("r", batch)
	}()
	require.ErrorIs(t, err, ErrInvalidValue)
}
