package kv

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// visitValue returns a value of a kind chosen by r: uncompressed and
// compressible bytes (HistoryFunc's views), strings, ints and objects
// (memory of the caller's own).
func visitValue(r *rand.Rand, i int) Value {
	switch r.IntN(5) {
	case 0:
		b := make([]byte, r.IntN(300))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		return Bytes(b)
	case 1:
		return Bytes(bytes.Repeat([]byte("abc"), r.IntN(200)))
	case 2:
		return String(fmt.Sprintf("s%d-%s", i, strings.Repeat("x", r.IntN(50))))
	case 3:
		return Int(int64(i))
	default:
		return Object(map[string]Value{"i": Int(int64(i)), "b": Bytes([]byte{byte(i)})})
	}
}

// copyVersioned returns v with a Bytes value copied out of the memory
// HistoryFunc and ScanFunc reuse.
func copyVersioned(v Versioned) Versioned {
	if b, ok := v.Value.AsBytes(); ok {
		v.Value = Bytes(b)
	}
	return v
}

func requireSameVersions(t *testing.T, want, got []Versioned, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		require.Equal(t, want[i].Version, got[i].Version, what)
		require.Equal(t, want[i].Deleted, got[i].Deleted, what)
		require.True(t, want[i].Timestamp.Equal(got[i].Timestamp), what)
		require.Equal(t, want[i].Value.Kind(), got[i].Value.Kind(), what)
		require.True(t, want[i].Value.Equal(got[i].Value), "%s: version %d: %v, want %v", what, want[i].Version, got[i].Value, want[i].Value)
	}
}

// TestHistoryFuncMatchesHistory compares HistoryFunc with History on keys
// of up to 300 versions (beyond a batch of 128) of mixed kinds, with
// deletions and a forked run, for limits and before bounds on both
// sides of batch boundaries.
func TestHistoryFuncMatchesHistory(t *testing.T) {
	db := openT(t, nil)
	r := rand.New(rand.NewPCG(7, 8))
	keys := []string{"a", "b", "c", "d"}
	counts := map[string]int{"a": 1, "b": 127, "c": 129, "d": 300}
	for i := 0; i < 300; i++ {
		for _, k := range keys {
			if i >= counts[k] {
				continue
			}
			if r.IntN(10) == 0 {
				_, err := db.Delete(DefaultRun, k)
				require.NoError(t, err)
				continue
			}
			_, err := db.Put(DefaultRun, k, visitValue(r, i))
			require.NoError(t, err)
		}
	}
	forkAt := db.LastVersion()
	_, err := db.ForkRun(DefaultRun, "fork", forkAt-50)
	require.NoError(t, err)
	for i := 0; i < 40; i++ {
		_, err := db.Put("fork", "d", visitValue(r, i))
		require.NoError(t, err)
	}
	last := db.LastVersion()
	for _, run := range []RunID{DefaultRun, "fork"} {
		for _, k := range append(keys, "none") {
			for _, limit := range []int{0, 1, 10, 127, 128, 129, 256, 1000} {
				for _, before := range []Version{0, 1, forkAt - 60, forkAt - 50, forkAt - 49, forkAt, last, last + 10} {
					what := fmt.Sprintf("run %s key %s limit %d before %d", run, k, limit, before)
					want, err := db.History(run, k, limit, before)
					require.NoError(t, err, what)
					var got []Versioned
					require.NoError(t, db.HistoryFunc(run, k, limit, before, func(v Versioned) bool {
						got = append(got, copyVersioned(v))
						return true
					}), what)
					requireSameVersions(t, want, got, what)
				}
			}
		}
	}
	// fn's false ends the walk at once, within a batch and across one.
	for _, stop := range []int{1, 5, 128, 129, 200} {
		calls := 0
		require.NoError(t, db.HistoryFunc(DefaultRun, "d", 0, 0, func(Versioned) bool {
			calls++
			return calls < stop
		}))
		require.Equal(t, stop, calls)
	}
}

// TestScanFuncMatchesScan compares ScanFunc with Scan's pages over 700
// keys of mixed kinds (several batches), some deleted, for prefixes,
// after keys and limits.
func TestScanFuncMatchesScan(t *testing.T) {
	db := openT(t, nil)
	r := rand.New(rand.NewPCG(9, 10))
	var all []string
	for i := 0; i < 700; i++ {
		k := fmt.Sprintf("k%03d/%d", i/10, i%10)
		all = append(all, k)
		_, err := db.Put(DefaultRun, k, visitValue(r, i))
		require.NoError(t, err)
		if r.IntN(8) == 0 {
			_, err := db.Delete(DefaultRun, k)
			require.NoError(t, err)
		}
	}
	_, err := db.Put("other", "k000/0", String("elsewhere"))
	require.NoError(t, err)
	scanAll := func(prefix string) []Entry {
		var out []Entry
		cursor := ""
		for {
			p, err := db.Scan(DefaultRun, prefix, 37, cursor)
			require.NoError(t, err)
			out = append(out, p.Entries...)
			if cursor = p.Cursor; cursor == "" {
				return out
			}
		}
	}
	for _, prefix := range []string{"", "k0", "k01", "k05/", "k069/9", "x"} {
		want := scanAll(prefix)
		for _, after := range []string{"", all[0], all[133], all[400], all[699], "k999"} {
			for _, limit := range []int{0, 1, 100, 128, 129, 300} {
				what := fmt.Sprintf("prefix %q after %q limit %d", prefix, after, limit)
				var exp []Entry
				for _, e := range want {
					if e.Key > after && (limit <= 0 || len(exp) < limit) {
						exp = append(exp, e)
					}
				}
				var got []Entry
				require.NoError(t, db.ScanFunc(DefaultRun, prefix, after, limit, func(key []byte, v Versioned) bool {
					got = append(got, Entry{Key: string(key), Versioned: copyVersioned(v)})
					return true
				}), what)
				require.Len(t, got, len(exp), what)
				for i := range exp {
					require.Equal(t, exp[i].Key, got[i].Key, what)
					requireSameVersions(t, []Versioned{exp[i].Versioned}, []Versioned{got[i].Versioned}, what+" key "+exp[i].Key)
				}
			}
		}
	}
	for _, stop := range []int{1, 128, 129} {
		calls := 0
		require.NoError(t, db.ScanFunc(DefaultRun, "", "", 0, func([]byte, Versioned) bool {
			calls++
			return calls < stop
		}))
		require.Equal(t, stop, calls)
	}
}

// TestVisitOwnedValues checks that what fn may keep stays right after
// the call: strings, ints and objects are fn's own, and only the bytes
// of Bytes values (and ScanFunc's keys) are reused.
func TestVisitOwnedValues(t *testing.T) {
	db := openT(t, nil)
	for i := 0; i < 300; i++ {
		_, err := db.Put(DefaultRun, fmt.Sprintf("k%03d", i), String(fmt.Sprintf("value %d", i)))
		require.NoError(t, err)
		_, err = db.Put(DefaultRun, "h", String(fmt.Sprintf("version %d", i)))
		require.NoError(t, err)
	}
	var kept []string
	require.NoError(t, db.ScanFunc(DefaultRun, "k", "", 0, func(_ []byte, v Versioned) bool {
		s, ok := v.Value.AsString()
		require.True(t, ok)
		kept = append(kept, s)
		return true
	}))
	var hist []string
	require.NoError(t, db.HistoryFunc(DefaultRun, "h", 0, 0, func(v Versioned) bool {
		s, _ := v.Value.AsString()
		hist = append(hist, s)
		return true
	}))
	require.Len(t, kept, 300)
	require.Len(t, hist, 300)
	for i := range 300 {
		require.Equal(t, fmt.Sprintf("value %d", i), kept[i])
		require.Equal(t, fmt.Sprintf("version %d", 299-i), hist[i])
	}
}

// TestScanFuncSnapshot writes, deletes and compacts from inside fn: the
// rest of the walk still reads the state the call began with, since the
// call pins its snapshot (Retention keeps one version, so compaction
// would otherwise drop the values the later batches read).
func TestScanFuncSnapshot(t *testing.T) {
	// Small segments: the old versions lie in sealed segments, which
	// compaction rewrites.
	db := openT(t, &Options{Retention: Retention{KeepVersions: 1}, SegmentSize: 4 << 10})
	want := map[string]string{}
	for i := 0; i < 500; i++ {
		k := fmt.Sprintf("k%03d", i)
		want[k] = fmt.Sprintf("old %d %s", i, strings.Repeat("v", 40))
		_, err := db.Put(DefaultRun, k, Bytes([]byte(want[k])))
		require.NoError(t, err)
	}
	require.NoError(t, db.Sync())
	seen := 0
	require.NoError(t, db.ScanFunc(DefaultRun, "k", "", 0, func(key []byte, v Versioned) bool {
		if seen == 0 {
			for i := 0; i < 500; i++ {
				k := fmt.Sprintf("k%03d", i)
				if i%2 == 0 {
					_, err := db.Delete(DefaultRun, k)
					require.NoError(t, err)
				} else {
					_, err := db.Put(DefaultRun, k, String("new"))
					require.NoError(t, err)
				}
				_, err := db.Put(DefaultRun, k+"x", String("added"))
				require.NoError(t, err)
			}
			_, err := db.Compact(context.Background())
			require.NoError(t, err)
		}
		b, ok := v.Value.AsBytes()
		require.True(t, ok, "key %s: %v", key, v.Value)
		require.Equal(t, want[string(key)], string(b), "key %s", key)
		seen++
		return true
	}))
	require.Equal(t, 500, seen)
	// HistoryFunc likewise: versions written from inside fn do not show.
	before, err := db.History(DefaultRun, "k001", 0, 0)
	require.NoError(t, err)
	var got []Versioned
	require.NoError(t, db.HistoryFunc(DefaultRun, "k001", 0, 0, func(v Versioned) bool {
		if len(got) == 0 {
			_, err := db.Put(DefaultRun, "k001", String("newer"))
			require.NoError(t, err)
		}
		got = append(got, copyVersioned(v))
		return true
	}))
	requireSameVersions(t, before, got, "k001")
}

// TestVisitBadInputAndClose: bad arguments write nothing and call fn
// never; Close from inside fn ends the walk with ErrClosed.
func TestVisitBadInputAndClose(t *testing.T) {
	db := openT(t, nil)
	for i := 0; i < 300; i++ {
		_, err := db.Put(DefaultRun, fmt.Sprintf("k%03d", i), Int(int64(i)))
		require.NoError(t, err)
		_, err = db.Put(DefaultRun, "h", Int(int64(i)))
		require.NoError(t, err)
	}
	never := func(Versioned) bool { t.Fatal("fn called"); return false }
	neverKV := func([]byte, Versioned) bool { t.Fatal("fn called"); return false }
	require.ErrorIs(t, db.HistoryFunc(DefaultRun, "", 0, 0, never), ErrInvalidKey)
	require.ErrorIs(t, db.HistoryFunc("", "h", 0, 0, never), ErrInvalidRun)
	require.ErrorIs(t, db.ScanFunc(DefaultRun, "bad\xff", "", 0, neverKV), ErrInvalidKey)
	require.ErrorIs(t, db.ScanFunc(DefaultRun, "", "bad\xff", 0, neverKV), ErrInvalidKey)
	require.Error(t, db.HistoryFunc(DefaultRun, "h", 0, 0, nil))
	require.Error(t, db.ScanFunc(DefaultRun, "", "", 0, nil))
	require.NoError(t, db.HistoryFunc(DefaultRun, "none", 0, 0, never))
	require.NoError(t, db.ScanFunc(DefaultRun, "none", "", 0, neverKV))

	calls := 0
	err := db.ScanFunc(DefaultRun, "k", "", 0, func([]byte, Versioned) bool {
		if calls++; calls == 1 {
			require.NoError(t, db.Close())
		}
		return true
	})
	require.ErrorIs(t, err, ErrClosed)
	require.Equal(t, visitBatch, calls, "the batch read before Close is passed whole")
	require.ErrorIs(t, db.HistoryFunc(DefaultRun, "h", 0, 0, never), ErrClosed)
	require.ErrorIs(t, db.ScanFunc(DefaultRun, "", "", 0, neverKV), ErrClosed)
}

// TestVisitAllocations: a warm HistoryFunc of 10 uncompressed byte
// values, and a ScanFunc of 100 keys with such values, allocate nothing
// (History and Scan allocate their results).
func TestVisitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops what is put back at random")
	}
	db := openT(t, nil)
	r := rand.New(rand.NewPCG(1, 2))
	val := make([]byte, 100)
	for i := 0; i < 100; i++ {
		for j := range val {
			val[j] = byte(r.Uint32())
		}
		_, err := db.Put(DefaultRun, fmt.Sprintf("k%03d", i), Bytes(val))
		require.NoError(t, err)
		if i < 10 {
			_, err = db.Put(DefaultRun, "h", Bytes(val))
			require.NoError(t, err)
		}
	}
	total := 0
	count := func(v Versioned) bool { b, _ := v.Value.AsBytes(); total += len(b); return true }
	countKV := func(_ []byte, v Versioned) bool { return count(v) }
	hist := testing.AllocsPerRun(200, func() { require.NoError(t, db.HistoryFunc(DefaultRun, "h", 10, 0, count)) })
	scan := testing.AllocsPerRun(200, func() { require.NoError(t, db.ScanFunc(DefaultRun, "k", "", 100, countKV)) })
	require.Less(t, hist, 0.5, "allocations a HistoryFunc")
	require.Less(t, scan, 0.5, "allocations a ScanFunc")
	require.Equal(t, 201*(10+100)*100, total)
}

// TestVisitConcurrentWriter runs ScanFunc and HistoryFunc while a writer
// rewrites every key in each commit (with the generation in its value)
// and compacts: each call must see one generation throughout its
// batches, and a history newest first.
func TestVisitConcurrentWriter(t *testing.T) {
	db := openT(t, &Options{Retention: Retention{KeepVersions: 2}, SegmentSize: 16 << 10})
	const keys = 300
	gens := 150
	if raceEnabled {
		gens = 40
	}
	write := func(gen int) {
		batch := make([]KeyValue, 0, keys+1)
		for i := 0; i < keys; i++ {
			batch = append(batch, KeyValue{fmt.Sprintf("k%03d", i), Bytes([]byte(fmt.Sprintf("%08d-%s", gen, strings.Repeat("p", i%50))))})
		}
		batch = append(batch, KeyValue{"h", Int(int64(gen))})
		_, err := db.MPut(DefaultRun, batch)
		require.NoError(t, err)
	}
	write(0)
	done := make(chan struct{})
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			for calls := 0; ; calls++ {
				select {
				case <-done:
					if calls > 0 {
						errs <- nil
						return
					}
				default:
				}
				gen, n := "", 0
				err := db.ScanFunc(DefaultRun, "k", "", 0, func(key []byte, v Versioned) bool {
					b, _ := v.Value.AsBytes()
					if g := string(b[:8]); gen == "" {
						gen = g
					} else if g != gen {
						errs <- fmt.Errorf("key %s: generation %s in a scan of generation %s", key, g, gen)
						return false
					}
					n++
					return true
				})
				if err == nil && n != keys {
					err = fmt.Errorf("scan saw %d keys", n)
				}
				last := Version(0)
				if err == nil {
					err = db.HistoryFunc(DefaultRun, "h", 0, 0, func(v Versioned) bool {
						if last != 0 && v.Version >= last {
							errs <- fmt.Errorf("history: version %d after %d", v.Version, last)
							return false
						}
						last = v.Version
						return true
					})
				}
				if err == nil {
					// View and ViewAt of the latest read a snapshot
					// pinned as the visits' are: never trimmed.
					err = db.View(func(tx *Txn) error { _, _, err := tx.Get(DefaultRun, "h"); return err })
				}
				if err == nil {
					err = db.ViewAt(db.LastVersion()+10, func(tx *Txn) error { _, _, err := tx.Get(DefaultRun, "h"); return err })
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for gen := 1; gen <= gens; gen++ {
		write(gen)
		if gen%10 == 0 {
			_, err := db.Compact(context.Background())
			require.NoError(t, err)
		}
	}
	close(done)
	for range 2 {
		require.NoError(t, <-errs)
	}
}
