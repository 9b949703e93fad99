package index

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// review53Ver is one version of a key in the plan.
type review53Ver struct {
	v    uint64
	tomb bool
	run  bool // DeleteRun's synthetic deletion
}

// review53Keys returns keys of every length the index takes: empty, one
// byte (NUL and 0xff among them), keys sharing 16-byte prefixes and
// differing after (by NUL bytes too), random binary keys and keys of the
// largest length.
func review53Keys(r *rand.Rand) []string {
	keys := []string{"", "\x00", "\xff", "a", "a\x00", "a\x00\x00"}
	p := "0123456789abcdef"
	for _, s := range []string{"", "\x00", "\x00\x00", "\x01", "a", "ab", "b", "\xff", strings.Repeat("z", 50)} {
		keys = append(keys, p+s, p[:15]+s, p[:8]+s)
	}
	for len(keys) < 280 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		if r.IntN(3) == 0 && len(b) >= 16 {
			copy(b, p) // shares the first 16 bytes
		}
		keys = append(keys, string(b))
	}
	big := strings.Repeat("m", MaxKeyLen)
	keys = append(keys, big, big[:MaxKeyLen-1], big[:MaxKeyLen-1]+"n")
	sort.Strings(keys)
	return slicesCompactStrings(keys)
}

func slicesCompactStrings(s []string) []string {
	out := s[:0]
	for i, k := range s {
		if i == 0 || k != s[i-1] {
			out = append(out, k)
		}
	}
	return out
}

func review53Rec(run, key int, x review53Ver) Record {
	if x.run {
		return Record{Version: x.v, Timestamp: int64(x.v) * 3, Flags: FlagTombstone}
	}
	r := Record{Version: x.v, Timestamp: int64(x.v)*3 + 1, Field: int64(x.v)*7 + int64(key), Segment: uint32(1 + run*1000 + key)}
	if x.tomb {
		r.Flags = FlagTombstone
		r.Field = 0
	}
	return r
}

// One writer adds versions (batches at one version, DeleteRun, a hot
// key of thousands of versions, keys of every length), a dropper drops
// what no reader's snapshot needs (as compaction does, old versions and
// whole deleted keys), and readers check At, Versions, Seek/Next and
// SeekLT/Prev against the plan at their snapshot. Counts at the end.
func TestReview53IndexWriterDropperReaders(t *testing.T) {
	versions := 30000
	if raceEnabled || testing.Short() {
		versions = 4000
	}
	rng := rand.New(rand.NewPCG(53, 53))
	keys := review53Keys(rng)
	runs := []string{"r0", "r1"}
	// The plan: for each version, what is added.
	type op struct {
		run, key int
		tomb     bool
		delRun   bool
	}
	plan := make([][]op, versions+1)
	model := make([][][]review53Ver, len(runs)) // run, key -> versions, oldest first
	for i := range model {
		model[i] = make([][]review53Ver, len(keys))
	}
	newestLive := func(run, key int) bool {
		vs := model[run][key]
		return len(vs) > 0 && !vs[len(vs)-1].tomb
	}
	for v := 1; v <= versions; v++ {
		if rng.IntN(500) == 0 {
			run := rng.IntN(len(runs))
			plan[v] = []op{{run: run, delRun: true}}
			for k := range keys {
				if newestLive(run, k) {
					model[run][k] = append(model[run][k], review53Ver{v: uint64(v), tomb: true, run: true})
				}
			}
			continue
		}
		n := 1 + rng.IntN(3)
		seen := map[[2]int]bool{}
		for range n {
			run, key := rng.IntN(len(runs)), rng.IntN(len(keys))
			if rng.IntN(3) == 0 {
				run, key = 0, len(keys)/2 // the hot key
			}
			if seen[[2]int{run, key}] {
				continue
			}
			seen[[2]int{run, key}] = true
			tomb := rng.IntN(6) == 0
			plan[v] = append(plan[v], op{run: run, key: key, tomb: tomb})
			model[run][key] = append(model[run][key], review53Ver{v: uint64(v), tomb: tomb})
		}
	}
	keyIndex := map[string]int{}
	for i, k := range keys {
		keyIndex[k] = i
	}
	// at returns the versions of (run, key) at or below s, newest first.
	at := func(run, key int, s uint64) []review53Ver {
		vs := model[run][key]
		j := sort.Search(len(vs), func(i int) bool { return vs[i].v > s })
		out := make([]review53Ver, j)
		for i := range j {
			out[i] = vs[j-1-i]
		}
		return out
	}

	ix := New()
	defer ix.Close()
	var visible, horizon atomic.Uint64
	const readers = 3
	var slots [readers]atomic.Uint64
	for i := range slots {
		slots[i].Store(math.MaxUint64)
	}
	var wg sync.WaitGroup
	errs := make(chan string, readers+2)
	fail := func(format string, args ...any) {
		select {
		case errs <- fmt.Sprintf(format, args...):
		default:
		}
	}
	var stop atomic.Bool
	var dropped, reads atomic.Int64

	// The dropper.
	wg.Add(1)
	go func() {
		defer wg.Done()
		dr := rand.New(rand.NewPCG(2, 53))
		for !stop.Load() {
			h := visible.Load()
			horizon.Store(h)
			pin := h
			for i := range slots {
				pin = min(pin, slots[i].Load())
			}
			for range 50 {
				run, key := dr.IntN(len(runs)), dr.IntN(len(keys))
				if dr.IntN(3) == 0 {
					run, key = 0, len(keys)/2
				}
				vs := at(run, key, pin) // all added: pin <= visible
				if len(vs) == 0 {
					continue
				}
				c, ok := ix.Find(runs[run], keys[key])
				if !ok {
					fail("dropper: %s/%q with versions up to %d not found", runs[run], keys[key], vs[0].v)
					return
				}
				switch {
				case len(vs) > 1:
					dropped.Add(int64(c.Drop(vs[1].v)))
				case vs[0].tomb && len(at(run, key, h)) == 1 && dr.IntN(2) == 0:
					// A deleted key vanishes whole, tombstone and all, as
					// compaction drops it (no reader needs it: every
					// snapshot >= pin reads it absent).
					dropped.Add(int64(c.Drop(vs[0].v)))
				}
			}
		}
	}()

	// The readers.
	for g := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(g), 7))
			for !stop.Load() {
				s := visible.Load()
				slots[g].Store(s)
				if horizon.Load() > s {
					slots[g].Store(math.MaxUint64)
					continue
				}
				run := rr.IntN(len(runs))
				reads.Add(1)
				switch rr.IntN(4) {
				case 0, 1: // a point read and the key's versions
					key := rr.IntN(len(keys))
					if rr.IntN(3) == 0 {
						run, key = 0, len(keys)/2
					}
					want := at(run, key, s)
					c, found := ix.Find(runs[run], keys[key])
					r, ok := c.At(s)
					switch {
					case len(want) == 0:
						if ok {
							fail("%s/%q at %d: got version %d, want none", runs[run], keys[key], s, r.Version)
						}
					case !ok:
						if !want[0].tomb || !found {
							if !want[0].tomb {
								fail("%s/%q at %d: got none (found %v), want version %d", runs[run], keys[key], s, found, want[0].v)
							}
						}
					case r != review53Rec(run, key, want[0]):
						fail("%s/%q at %d: got %+v, want %+v", runs[run], keys[key], s, r, review53Rec(run, key, want[0]))
					}
					i := 0
					c.Versions(s, func(r Record) bool {
						if i >= len(want) || r != review53Rec(run, key, want[i]) {
							fail("%s/%q Versions(%d)[%d] = %+v, want the plan's %v", runs[run], keys[key], s, i, r, want[min(i, len(want)-1)])
							return false
						}
						i++
						return true
					})
					if i == 0 && len(want) > 0 && !want[0].tomb {
						fail("%s/%q Versions(%d) empty, want %d first", runs[run], keys[key], s, want[0].v)
					}
				case 2: // forward from a key
					start := keys[rr.IntN(len(keys))]
					var seen []string
					it := ix.Seek(runs[run], start)
					for ; it.Valid() && len(seen) < 40; it.Next() {
						seen = append(seen, it.Chain().Key())
					}
					review53CheckSpan(fail, keys, seen, func(k int) bool { return len(at(run, k, s)) > 0 }, start, !it.Valid(), false, runs[run], s)
				case 3: // backward from a key
					end := keys[rr.IntN(len(keys))]
					var seen []string
					it := ix.SeekLT(runs[run], end)
					if end == "" {
						it = ix.SeekLT(runs[run], "") // from the run's last key
					}
					for ; it.Valid() && len(seen) < 40; it.Prev() {
						seen = append(seen, it.Chain().Key())
					}
					review53CheckSpan(fail, keys, seen, func(k int) bool { return len(at(run, k, s)) > 0 }, end, !it.Valid(), true, runs[run], s)
				}
				slots[g].Store(math.MaxUint64)
			}
		}()
	}

	// The writer.
	for v := 1; v <= versions; v++ {
		for _, o := range plan[v] {
			if o.delRun {
				_, err := ix.DeleteRun(runs[o.run], uint64(v), int64(v)*3)
				require.NoError(t, err)
				continue
			}
			require.NoError(t, ix.Add(runs[o.run], keys[o.key], review53Rec(o.run, o.key, review53Ver{v: uint64(v), tomb: o.tomb})))
		}
		visible.Store(uint64(v))
		if v%64 == 0 {
			runtime.Gosched() // let the readers and the dropper in between
		}
		if len(errs) > 0 {
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		return
	}
	var nkeys, live, nversions int64
	for run := range runs {
		for k := range keys {
			if vs := model[run][k]; len(vs) > 0 {
				nkeys++
				nversions += int64(len(vs))
				if !vs[len(vs)-1].tomb {
					live++
				}
			}
		}
	}
	t.Logf("%d reads, %d versions dropped", reads.Load(), dropped.Load())
	gk, gl, gv := ix.Counts()
	require.Equal(t, [3]int64{nkeys, live, nversions - dropped.Load()}, [3]int64{gk, gl, gv}, "Counts: keys, live, versions")
}

// review53CheckSpan checks keys seen by a scan from bound (forward: from
// bound up; reverse: from below bound down): in strict order, every key
// with a version at the snapshot (has) in the span covered seen, and,
// where the scan ended, every such key to the run's end.
func review53CheckSpan(fail func(string, ...any), keys, seen []string, has func(int) bool, bound string, ended, reverse bool, run string, s uint64) {
	for i := 1; i < len(seen); i++ {
		if c := strings.Compare(seen[i-1], seen[i]); (c >= 0) != reverse || c == 0 {
			fail("%s at %d: scan (reverse %v) from %q out of order: %q then %q", run, s, reverse, bound, seen[i-1], seen[i])
			return
		}
	}
	got := map[string]bool{}
	for _, k := range seen {
		got[k] = true
	}
	for i, k := range keys {
		if !has(i) {
			continue
		}
		var in bool
		if !reverse {
			in = k >= bound && (ended || (len(seen) > 0 && k <= seen[len(seen)-1]))
		} else {
			in = (bound == "" || k < bound) && (ended || (len(seen) > 0 && k >= seen[len(seen)-1]))
		}
		if in && !got[k] {
			fail("%s at %d: scan (reverse %v) from %q missed %q (%d bytes) (%d seen, ended %v)", run, s, reverse, bound, clip53(k), len(k), len(seen), ended)
			return
		}
	}
	_ = bytes.Compare
}

func clip53(k string) string {
	if len(k) > 40 {
		return k[:40] + "..."
	}
	return k
}
