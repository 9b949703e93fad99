package index

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func mkrec(v uint64, tomb bool) Record {
	r := Record{Version: v, Timestamp: int64(v) * 10, Field: int64(v) * 100, Segment: 1}
	if tomb {
		r.Flags |= FlagTombstone
	}
	return r
}

func keysOf(ix *Index, run, start string) []string {
	var out []string
	for it := ix.Seek(run, start); it.Valid(); it.Next() {
		out = append(out, it.Chain().Key())
	}
	return out
}

func TestOrderAndRuns(t *testing.T) {
	ix := New()
	r := rand.New(rand.NewPCG(1, 1))
	want := map[string][]string{}
	v := uint64(0)
	for _, run := range []string{"a", "ab", "b", "a\x01"} {
		for _, i := range r.Perm(300) {
			k := fmt.Sprintf("k%04d", i)
			v++
			ix.Add(run, k, mkrec(v, false))
			want[run] = append(want[run], k)
		}
	}
	for run, keys := range want {
		sort.Strings(keys)
		require.Equal(t, keys, keysOf(ix, run, ""), "run %q", run)
		require.Equal(t, keys[150:], keysOf(ix, run, keys[150]), "seek in run %q", run)
	}
	require.Empty(t, keysOf(ix, "zz", ""))
	_, ok := ix.Find("a", "nope")
	require.False(t, ok)
	_, ok = ix.Find("c", "k0001")
	require.False(t, ok)
	keys, live, versions := ix.Counts()
	require.EqualValues(t, 1200, keys)
	require.EqualValues(t, 1200, live)
	require.EqualValues(t, 1200, versions)
}

func TestVersionChainsAndSnapshots(t *testing.T) {
	ix := New()
	ix.Add("r", "k", mkrec(2, false))
	ix.Add("r", "other", mkrec(3, false))
	ix.Add("r", "k", mkrec(5, true))
	ix.Add("r", "k", mkrec(9, false))

	_, ok := ix.Get("r", "k", 1)
	require.False(t, ok, "nothing at or below 1")
	for snap, want := range map[uint64]uint64{2: 2, 4: 2, 5: 5, 8: 5, 9: 9, 100: 9} {
		got, ok := ix.Get("r", "k", snap)
		require.True(t, ok)
		require.Equal(t, want, got.Version, "snap %d", snap)
	}
	got, _ := ix.Get("r", "k", 6)
	require.True(t, got.Tombstone())

	var seen []uint64
	find(t, ix, "r", "k").Versions(8, func(r Record) bool { seen = append(seen, r.Version); return true })
	require.Equal(t, []uint64{5, 2}, seen, "newest first, above-snapshot skipped")
	seen = nil
	find(t, ix, "r", "k").Versions(100, func(r Record) bool { seen = append(seen, r.Version); return len(seen) < 2 })
	require.Equal(t, []uint64{9, 5}, seen, "stops when fn returns false")

	n, ok := find(t, ix, "r", "k").Newest()
	require.True(t, ok)
	require.EqualValues(t, 9, n.Version)
	keys, live, versions := ix.Counts()
	require.EqualValues(t, 2, keys)
	require.EqualValues(t, 2, live)
	require.EqualValues(t, 4, versions)
	ix.Add("r", "other", mkrec(10, true))
	_, live, _ = ix.Counts()
	require.EqualValues(t, 1, live)

	require.ErrorIs(t, ix.Add("r", "k", mkrec(9, false)), ErrNotNewer, "a version not above the newest is refused")
	require.ErrorIs(t, ix.Add("r", "k", mkrec(3, false)), ErrNotNewer)
	_, _, versions = ix.Counts()
	require.EqualValues(t, 5, versions)
}

func TestRecordFlags(t *testing.T) {
	r := Record{Flags: 2 << FlagCodecShift}
	require.EqualValues(t, 2, r.Codec())
	require.False(t, r.Tombstone())
	r.Flags |= FlagTombstone
	require.True(t, r.Tombstone())
	require.EqualValues(t, 2, r.Codec())
}

// One writer adds versions while readers check, without locks, that every
// read is consistent: a snapshot never shows a version above it, keys come
// out sorted, and a key seen at snapshot s is seen at every later one.
func TestConcurrentReadersAndWriter(t *testing.T) {
	ix := New()
	const keys = 200
	const rounds = 20
	var published atomic.Uint64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				snap := published.Load()
				prev := ""
				count := 0
				for it := ix.Seek("r", ""); it.Valid(); it.Next() {
					k := it.Chain().Key()
					if k <= prev {
						errs <- fmt.Errorf("order: %q after %q", k, prev)
						return
					}
					prev = k
					if r, ok := it.Chain().At(snap); ok {
						if r.Version > snap {
							errs <- fmt.Errorf("version %d above snapshot %d", r.Version, snap)
							return
						}
						count++
					}
				}
				// Versions 1..keys create keys 0..keys-1 in order.
				if want := min(snap, keys); uint64(count) < want {
					errs <- fmt.Errorf("snapshot %d shows %d keys, want at least %d", snap, count, want)
					return
				}
			}
		}()
	}
	v := uint64(0)
	for round := 0; round < rounds; round++ {
		for i := 0; i < keys; i++ {
			v++
			ix.Add("r", fmt.Sprintf("%05d", (i*7919)%keys), mkrec(v, false))
			published.Store(v)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	_, _, versions := ix.Counts()
	require.EqualValues(t, keys*rounds, versions)
}

// TestMemoryPerKeyAndVersion checks the costs the package doc states:
// 28 bytes per later version, and for a key with one version its node,
// tower and a share of the hash table; and that the Go heap holds no more
// than Bytes reports (the arena is all there is).
func TestMemoryPerKeyAndVersion(t *testing.T) {
	const keys = 100000
	const perKey = 10
	names := benchKeys(keys) // 16 bytes each
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	used := func(ix *Index) int64 { return int64(ix.mem.next) << unitShift }

	base := heap()
	ix := New()
	empty := used(ix)
	v := uint64(0)
	for _, k := range names {
		v++
		require.NoError(t, ix.Add("run", k, mkrec(v, false)))
	}
	oneVersion := used(ix)
	hashPerKey := float64(len(ix.hash.Load().slots)*5) / keys
	for i := 1; i < perKey; i++ {
		for _, k := range names {
			v++
			require.NoError(t, ix.Add("run", k, mkrec(v, false)))
		}
	}
	all := used(ix)
	grown := heap() - base
	runtime.KeepAlive(ix)

	perVersion := float64(all-oneVersion) / float64(keys*(perKey-1))
	nodePerKey := float64(oneVersion-empty)/keys - 16
	t.Logf("index memory: %.1f bytes per later version; per key beyond its 16 bytes: %.1f of node + %.1f of hash table; Bytes %d, heap grew %d",
		perVersion, nodePerKey, hashPerKey, ix.Bytes(), grown)
	require.LessOrEqual(t, perVersion, 28.01, "28 bytes, and what chunk ends leave unused")
	// 8 header + 5.3 tower + 24 first version, on average (16-byte keys
	// need no padding).
	require.Less(t, nodePerKey, 38.5)
	require.LessOrEqual(t, hashPerKey, 5/(1.0/2)+0.01)
	hashBytes := int64(len(ix.hash.Load().slots)) * 5
	if offHeap {
		require.Less(t, grown, hashBytes+2<<20, "the Go heap holds the hash table, not the arena")
	} else {
		require.Less(t, grown, ix.Bytes()+2<<20, "the heap holds little beyond the arena")
	}
	ix.Close()
	require.Zero(t, ix.mem.held(), "Close frees the arena")
	require.Zero(t, ix.Bytes(), "and Bytes says so")
}

// AddBytes must not keep the caller's bytes: they are a mapping that goes
// away.
func TestAddBytesCopiesNewKeys(t *testing.T) {
	ix := New()
	buf := []byte("key-one")
	require.NoError(t, ix.AddBytes("r", buf, mkrec(1, false)))
	copy(buf, "XXXXXXX")
	_, ok := ix.Find("r", "key-one")
	require.True(t, ok)
	_, ok = ix.Find("r", "XXXXXXX")
	require.False(t, ok)
	require.NoError(t, ix.AddBytes("r", []byte("key-one"), mkrec(2, false)))
	got, _ := ix.Get("r", "key-one", 10)
	require.EqualValues(t, 2, got.Version)
	v := uint64(2)
	key := []byte("key-one") // like a slice of a mapped segment
	allocs := testing.AllocsPerRun(100, func() {
		v++
		if ix.AddBytes("r", key, mkrec(v, false)) != nil {
			t.Fatal("AddBytes refused a newer version")
		}
	})
	require.Zero(t, allocs, "a known key costs no Go allocation")
}

func find(t *testing.T, ix *Index, run, key string) Chain {
	t.Helper()
	c, ok := ix.Find(run, key)
	require.True(t, ok, "%s/%s not found", run, key)
	return c
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%012d", i)
	}
	return keys
}

func filled(b *testing.B, keys []string) *Index {
	ix := New()
	for i, p := range rand.New(rand.NewPCG(1, 2)).Perm(len(keys)) {
		if err := ix.Add("default", keys[p], mkrec(uint64(i+1), false)); err != nil {
			b.Fatal(err)
		}
	}
	return ix
}

// BenchmarkGet measures a point lookup among 1M keys in random order.
func BenchmarkGet(b *testing.B) {
	keys := benchKeys(1 << 20)
	ix := filled(b, keys)
	r := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	for b.Loop() {
		if _, ok := ix.Get("default", keys[r.IntN(len(keys))], 1<<40); !ok {
			b.Fatal("missing")
		}
	}
}

// BenchmarkAdd measures inserting new keys in random order.
func BenchmarkAdd(b *testing.B) {
	keys := benchKeys(1 << 20)
	perm := rand.New(rand.NewPCG(1, 2)).Perm(len(keys))
	var ix *Index
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%len(keys) == 0 {
			ix = New()
		}
		if err := ix.Add("default", keys[perm[i%len(keys)]], mkrec(uint64(i+1), false)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeek measures finding the first key of a prefix and reading
// the next 100.
func BenchmarkSeek(b *testing.B) {
	keys := benchKeys(1 << 20)
	ix := filled(b, keys)
	r := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for it := ix.Seek("default", keys[r.IntN(len(keys))][:14]); it.Valid() && n < 100; it.Next() {
			if _, ok := it.Chain().At(1 << 40); ok {
				n++
			}
		}
	}
}

// TestConcurrentPointReadsAndHistory runs one writer against readers that
// check every answer against the schedule the writer follows: version v
// goes to key (v*7919) mod keys of run v mod 3, so a reader knows, for
// its snapshot, exactly which versions each key must show. The writer
// crosses several hash table growths and builds chains of many versions
// while the readers look up, walk chains and scan.
func TestConcurrentPointReadsAndHistory(t *testing.T) {
	const keys = 5003 // prime: every key gets a version every 5003
	total := uint64(60000)
	if testing.Short() {
		total = 20000
	}
	target := func(v uint64) (string, string) {
		return fmt.Sprintf("r%d", v%3), fmt.Sprintf("k%05d", (v*7919)%keys)
	}
	// expected returns the versions of target(of) at or below snap, newest
	// first, by brute force over the schedule.
	expected := func(of, snap uint64) []uint64 {
		var out []uint64
		for v := snap; v >= 1; v-- {
			if v%3 == of%3 && (v*7919)%keys == (of*7919)%keys {
				out = append(out, v)
			}
		}
		return out
	}
	ix := New()
	var published atomic.Uint64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				snap := published.Load()
				// Half the reads go to the keys the writer is at: where a
				// record published before it is complete would show.
				of := 1 + r.Uint64N(total)
				if i%2 == 0 {
					of = max(snap, 3) - 2 + r.Uint64N(6)
				}
				run, key := target(of)
				want := expected(of, snap)
				got, ok := ix.Get(run, key, snap)
				switch {
				case len(want) == 0 && ok:
					errs <- fmt.Errorf("%s/%s at %d: got version %d, want none", run, key, snap, got.Version)
					return
				case len(want) > 0 && (!ok || got.Version != want[0]):
					errs <- fmt.Errorf("%s/%s at %d: got %d (%v), want %d", run, key, snap, got.Version, ok, want[0])
					return
				case ok && got.Field != int64(got.Version)*100:
					errs <- fmt.Errorf("%s/%s version %d: record %+v is not the one added", run, key, got.Version, got)
					return
				}
				if c, found := ix.Find(run, key); found {
					var hist []uint64
					c.Versions(snap, func(r Record) bool { hist = append(hist, r.Version); return true })
					if fmt.Sprint(hist) != fmt.Sprint(want) && !(len(hist) == 0 && len(want) == 0) {
						errs <- fmt.Errorf("%s/%s at %d: history %v, want %v", run, key, snap, hist, want)
						return
					}
				}
				if i%50 == 0 {
					prev := ""
					for it := ix.Seek(run, ""); it.Valid(); it.Next() {
						k := it.Chain().Key()
						if k <= prev {
							errs <- fmt.Errorf("run %s: key %q after %q", run, k, prev)
							return
						}
						prev = k
					}
				}
			}
		}()
	}
	for v := uint64(1); v <= total; v++ {
		run, key := target(v)
		if err := ix.Add(run, key, mkrec(v, false)); err != nil {
			t.Fatal(err)
		}
		published.Store(v)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n, _, versions := ix.Counts()
	require.EqualValues(t, 3*keys, n, "every (run, key) pair of the schedule")
	require.EqualValues(t, total, versions)
}

func TestDropAndRelocate(t *testing.T) {
	ix := New()
	defer ix.Close()
	for v := uint64(1); v <= 5; v++ {
		require.NoError(t, ix.Add("r", "k", mkrec(v, false)))
	}
	require.NoError(t, ix.Add("r", "gone", mkrec(6, false)))
	require.NoError(t, ix.Add("r", "gone", mkrec(7, true)))
	c := find(t, ix, "r", "k")
	require.True(t, c.Relocate(4, 99, 1234))
	require.False(t, c.Relocate(42, 99, 1))
	r, ok := c.At(4)
	require.True(t, ok)
	require.EqualValues(t, 99, r.Segment)
	require.EqualValues(t, 1234, r.Field)

	require.Equal(t, 3, c.Drop(3), "versions 3, 2 and 1")
	var got []uint64
	c.Versions(100, func(r Record) bool { got = append(got, r.Version); return true })
	require.Equal(t, []uint64{5, 4}, got)
	_, ok = c.At(3)
	require.False(t, ok, "dropped")
	require.Equal(t, 0, c.Drop(3), "already gone")

	g := find(t, ix, "r", "gone")
	require.Equal(t, 2, g.Drop(7), "the tombstone and the put under it")
	_, ok = g.Newest()
	require.False(t, ok)
	got = nil
	g.Versions(100, func(r Record) bool { got = append(got, r.Version); return true })
	require.Empty(t, got)
	_, live, versions := ix.Counts()
	require.EqualValues(t, 1, live)
	require.EqualValues(t, 2, versions)

	// A key whose versions all went comes back with a new one.
	require.NoError(t, ix.Add("r", "gone", mkrec(8, false)))
	got = nil
	g.Versions(100, func(r Record) bool { got = append(got, r.Version); return true })
	require.Equal(t, []uint64{8}, got)
	_, live, _ = ix.Counts()
	require.EqualValues(t, 2, live)
}

// Prefetch changes nothing: not for a run the index has not met, not
// for a key it does not hold, not for one it holds.
func TestPrefetchChangesNothing(t *testing.T) {
	ix := New()
	defer ix.Close()
	ix.Prefetch("nope", "k")
	require.NoError(t, ix.Add("r", "a", mkrec(1, false)))
	ix.Prefetch("r", "a")
	ix.Prefetch("r", "b")
	ix.Prefetch("nope", "a")
	keys, live, versions := ix.Counts()
	require.Equal(t, [3]int64{1, 1, 1}, [3]int64{keys, live, versions})
	_, ok := ix.Find("nope", "a")
	require.False(t, ok)
	_, ok = ix.Find("r", "b")
	require.False(t, ok)
	r, ok := ix.Get("r", "a", 1)
	require.True(t, ok)
	require.Equal(t, uint64(1), r.Version)
	require.Equal(t, []string{"r"}, ix.Runs())
}

// Trimmed tells a chain Drop shortened from one that was never shortened:
// the dropped newest-first prefix ends the walk before the first record.
func TestChainTrimmed(t *testing.T) {
	ix := New()
	defer ix.Close()
	for v := uint64(1); v <= 4; v++ {
		require.NoError(t, ix.Add("r", "k", mkrec(v, false)))
	}
	require.NoError(t, ix.Add("r", "one", mkrec(5, false)))
	require.NoError(t, ix.Add("r", "gone", mkrec(6, false)))
	require.NoError(t, ix.Add("r", "gone", mkrec(7, true)))
	k, one, gone := find(t, ix, "r", "k"), find(t, ix, "r", "one"), find(t, ix, "r", "gone")
	require.False(t, k.Trimmed())
	require.False(t, one.Trimmed(), "a key of one version")
	require.False(t, Chain{}.Trimmed(), "the zero Chain")

	require.Equal(t, 1, k.Drop(1), "the node's own first version")
	require.True(t, k.Trimmed())
	require.Equal(t, 2, gone.Drop(7), "every version")
	require.True(t, gone.Trimmed())
	require.NoError(t, ix.Add("r", "gone", mkrec(8, false)))
	require.True(t, gone.Trimmed(), "written again after all went: still shortened")
	require.False(t, one.Trimmed())

	require.NoError(t, ix.Add("r", "k2", mkrec(9, false)))
	require.NoError(t, ix.Add("r", "k2", mkrec(10, false)))
	require.NoError(t, ix.Add("r", "k2", mkrec(11, false)))
	k2 := find(t, ix, "r", "k2")
	require.Equal(t, 2, k2.Drop(10), "a later version and the first under it")
	require.True(t, k2.Trimmed())
}
