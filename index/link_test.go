package index

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// checkLevels walks every level of the skiplist: each must be strictly
// ordered by (run, key), hold only nodes tall enough, and hold every node
// that is tall enough (so level 0 holds every key).
func checkLevels(t *testing.T, ix *Index, total int) {
	t.Helper()
	// all nodes reachable at level 0, with their heights
	heights := map[uint32]int{}
	for x := ix.next(ix.head, 0); x != 0; x = ix.next(x, 0) {
		heights[x] = int(ix.node(x).h)
	}
	require.Equal(t, total, len(heights), "level 0 holds every key")
	height := int(ix.height.Load())
	for lvl := 0; lvl < maxHeight; lvl++ {
		want := 0
		for _, h := range heights {
			if h > lvl {
				want++
			}
		}
		if lvl >= height {
			require.Zero(t, ix.next(ix.head, lvl), "level %d above height %d is empty", lvl, height)
			require.Zero(t, want, "a node of height > %d but list height %d", lvl, height)
			continue
		}
		got := 0
		prev := uint32(0)
		for x := ix.next(ix.head, lvl); x != 0; x = ix.next(x, lvl) {
			got++
			require.Greater(t, int(ix.node(x).h), lvl, "node at level %d too short", lvl)
			if prev != 0 {
				pk := ix.key(prev)
				require.Negative(t, ix.compare(prev, ix.node(x).run, unsafe.String(unsafe.SliceData(ix.key(x)), len(ix.key(x)))),
					"level %d out of order: %q then %q", lvl, pk, ix.key(x))
			}
			prev = x
			require.LessOrEqual(t, got, total, "cycle at level %d", lvl)
		}
		require.Equal(t, want, got, "level %d holds every node taller than it", lvl)
	}
}

// keyPattern generates keys in several shapes.
func keyPattern(r *rand.Rand, pat int, i int) string {
	switch pat {
	case 0: // dense sequential
		return fmt.Sprintf("k%08d", i)
	case 1: // random
		return fmt.Sprintf("r%x", r.Uint64())
	case 2: // prefixes of each other
		return strings.Repeat("a", 1+r.IntN(64))
	case 3: // prefixes and a following byte, incl. 0x00 and 0xff
		b := []byte(strings.Repeat("p", r.IntN(20)))
		for range r.IntN(3) {
			b = append(b, []byte{0, 1, 'p', 0xff}[r.IntN(4)])
		}
		return string(b)
	case 4: // shared 16-byte prefix, differ after
		return fmt.Sprintf("shared-prefix-16%d", r.IntN(1000))
	case 5: // empty or tiny
		return []string{"", "\x00", "a", "\xff", "\x00\x00"}[r.IntN(5)]
	case 6: // reverse order
		return fmt.Sprintf("z%08d", 1_000_000-i)
	default: // descending then ascending within a small space
		return fmt.Sprintf("m%03d", r.IntN(500))
	}
}

// Keys of many shapes and runs, linked in batches of every size (by hand
// or by the linker), must leave every level of the skiplist sorted and
// holding exactly the nodes tall enough for it, level 0 every key.
func TestLinkSortedRandom(t *testing.T) {
	seeds := uint64(60)
	if raceEnabled || testing.Short() {
		seeds = 8
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		ix := New()
		// Hold the linker back so batches are as we choose: mark a
		// linker as running so Add only queues.
		manual := seed%2 == 0
		if manual {
			ix.pendMu.Lock()
			ix.linker = true
			ix.pendMu.Unlock()
		}
		runs := []string{"a", "b", "a\x00", "c", ""}
		nruns := 1 + r.IntN(len(runs))
		model := map[string]map[string]bool{}
		total := 0
		v := uint64(0)
		rounds := 1 + r.IntN(20)
		for range rounds {
			n := []int{1, 2, 3, 10, 100, 1000, 5000}[r.IntN(7)]
			pat := r.IntN(8)
			for i := range n {
				run := runs[r.IntN(nruns)]
				k := keyPattern(r, pat, i)
				v++
				require.NoError(t, ix.Add(run, k, mkrec(v, false)))
				if model[run] == nil {
					model[run] = map[string]bool{}
				}
				if !model[run][k] {
					model[run][k] = true
					total++
				}
			}
			if manual {
				// link this round as one batch (several runs in it)
				ix.linkMu.Lock()
				ix.linkSorted(ix.takePending())
				ix.linkMu.Unlock()
				checkLevels(t, ix, total)
			}
		}
		if !manual {
			ix.linkPending()
			ix.linkMu.Lock() // wait for the linker goroutine
			ix.linkMu.Unlock()
			ix.linkPending()
		}
		checkLevels(t, ix, total)
		for run, keys := range model {
			var want []string
			for k := range keys {
				want = append(want, k)
			}
			sort.Strings(want)
			require.Equal(t, want, keysOf(ix, run, ""), "seed %d run %q", seed, run)
			for range 20 {
				s := want[r.IntN(len(want))]
				i := sort.SearchStrings(want, s)
				require.Equal(t, want[i:], keysOf(ix, run, s), "seed %d run %q seek %q", seed, run, s)
			}
		}
	}
}

// takePending takes the pending batch sorted, as linkBatch does.
func (ix *Index) takePending() []uint32 {
	ix.pendMu.Lock()
	b := ix.pending
	ix.pending = nil
	ix.npending.Store(0)
	ix.pendMu.Unlock()
	ix.sortRefs(b)
	return b
}

// Readers walking levels while the linker links batches.
func TestLinkSortedConcurrentReaders(t *testing.T) {
	ix := New()
	r := rand.New(rand.NewPCG(3, 3))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// walk level 0 without Seek's linking: order must hold
				rn, ok := ix.runNumber("run")
				if !ok {
					continue
				}
				var last []byte
				for x := ix.findGE(rn, "", nil); x != 0 && ix.node(x).run == rn; x = ix.next(x, 0) {
					k := ix.key(x)
					if last != nil && string(last) >= string(k) {
						panic(fmt.Sprintf("order broken: %q then %q", last, k))
					}
					last = append(last[:0], k...)
				}
			}
		}()
	}
	model := map[string]bool{}
	n := 200000
	if raceEnabled || testing.Short() {
		n = 40000
	}
	for i := range n {
		k := fmt.Sprintf("%x", r.Uint32()%100000)
		if i%3 == 0 {
			k = fmt.Sprintf("seq%08d", i)
		}
		require.NoError(t, ix.Add("run", k, mkrec(uint64(i+1), false)))
		model[k] = true
	}
	close(stop)
	wg.Wait()
	ix.linkPending()
	ix.linkMu.Lock()
	ix.linkMu.Unlock()
	checkLevels(t, ix, len(model))
}

// BenchmarkLink measures linking batches of new keys, in random order,
// into a list of 1M keys (per key linked, the sort included).
func BenchmarkLink(b *testing.B) {
	keys := benchKeys(1 << 20)
	for _, size := range []int{64, 1024, 16384} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			ix := filled(b, keys)
			ix.linkPending()
			r := rand.New(rand.NewPCG(5, 6))
			v := uint64(len(keys))
			n := 0
			for b.Loop() {
				ix.linkMu.Lock() // the linker goroutine waits
				b.StopTimer()
				for range size {
					v++
					if err := ix.Add("default", fmt.Sprintf("%sx%d", keys[r.IntN(len(keys))], v), mkrec(v, false)); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				ix.linkSorted(ix.takePending())
				ix.linkMu.Unlock()
				n += size
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/key")
		})
	}
}

// comparePrefixedAt agrees with compare on keys of every length around 16
// bytes, sharing prefixes, with bytes 0x00 and 0xff where they differ.
func TestComparePrefixedAgreesWithCompare(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	key := func() string {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = []byte{0, 'a', 'b', 0xff}[r.IntN(4)]
		}
		return string(b)
	}
	ix := New()
	defer ix.Close()
	var keys []string
	for i := range 400 {
		k := key()
		keys = append(keys, k)
		require.NoError(t, ix.Add([]string{"r", "s"}[i%2], k, mkrec(uint64(i+1), false)))
	}
	for range 20000 {
		a, b := keys[r.IntN(len(keys))], key()
		run := []string{"r", "s"}[r.IntN(2)]
		c, ok := ix.Find(run, a)
		if !ok {
			continue
		}
		rn, _ := ix.runNumber(run)
		var k0, k1 uint64
		if len(b) >= 16 {
			k0, k1 = binary.BigEndian.Uint64([]byte(b)), binary.BigEndian.Uint64([]byte(b[8:]))
		}
		want := ix.compare(c.ref, rn, b)
		require.Equal(t, want, comparePrefixedAt(ix.mem.at(c.ref), rn, b, k0, k1), "%q vs %q", a, b)
		require.Equal(t, -1, comparePrefixedAt(ix.mem.at(c.ref), rn+1, b, k0, k1), "a later run")
	}
}
