package kv

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"unsafe"
)

var benchValue = Object(map[string]Value{
	"step": Int(17), "status": String("tool_call"), "score": Float(0.73),
	"args": Array(String("search"), String("strata storage engine")),
})

func benchPut(b *testing.B, opts Options, parallel int) {
	db := openT(b, &opts)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(parallel)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := db.Put("bench", fmt.Sprintf("key-%07d", i%100000), benchValue); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPut measures single-key commits. Parallelism multiplies
// GOMAXPROCS: on the 2-core CI machine p1 is 2 goroutines, p4 is 8.
func BenchmarkPut(b *testing.B) {
	b.Run("buffered/p1", func(b *testing.B) { benchPut(b, Options{}, 1) })
	b.Run("buffered/p4", func(b *testing.B) { benchPut(b, Options{}, 4) })
	b.Run("strict/serial", func(b *testing.B) {
		db := openT(b, &Options{Durability: Strict})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := db.Put("bench", fmt.Sprintf("key-%07d", i%100000), benchValue); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict/p4", func(b *testing.B) { benchPut(b, Options{Durability: Strict}, 4) })
	b.Run("inmemory/p1", func(b *testing.B) { benchPut(b, Options{Durability: InMemory}, 1) })
}

func BenchmarkGet(b *testing.B) {
	const keys = 100000
	for _, name := range []string{"sealed", "active"} {
		b.Run(name, func(b *testing.B) {
			opts := Options{}
			if name == "sealed" {
				opts.SegmentSize = 1 << 20 // most reads come from mapped, sealed segments
			} else {
				opts.SegmentSize = 1 << 30 // every read is a pread of the active segment
			}
			db := openT(b, &opts)
			batch := make([]KeyValue, 0, 1000)
			for i := 0; i < keys; i++ {
				batch = append(batch, KeyValue{fmt.Sprintf("key-%07d", i), benchValue})
				if len(batch) == cap(batch) {
					if _, err := db.MPut("bench", batch); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(7919) % keys
					if _, ok, err := db.Get("bench", fmt.Sprintf("key-%07d", i)); err != nil || !ok {
						b.Errorf("get %d: %v %v", i, ok, err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkOpen measures recovery: reopening a directory of 200k versions
// (20k keys × 10) means reading, verifying and indexing every frame.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	db, err := Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]KeyValue, 0, 100)
	for round := 0; round < 10; round++ {
		for i := 0; i < 20000; i++ {
			batch = append(batch, KeyValue{fmt.Sprintf("key-%07d", i), Int(int64(round))})
			if len(batch) == cap(batch) {
				if _, err := db.MPut("bench", batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	size := db.Stats().LiveBytes
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		db, err := Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
	b.ReportMetric(200000/(b.Elapsed().Seconds()/float64(b.N)), "versions/s")
}

// BenchmarkOpenTornTail measures Open of a directory whose newest segment
// ends in a torn write of 1 to 64 MiB: one big commit cut 4 KiB short, so
// Open must look through the whole tail for a frame that would prove it
// had been fsynced (there is none: it is cut off). Open is read-only, so
// every iteration sees the same tail. ns/tail-byte must stay flat as the
// tail grows: the search is linear.
func BenchmarkOpenTornTail(b *testing.B) {
	for _, mib := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			dir := b.TempDir()
			db, err := Open(dir, &Options{Durability: Strict, MaxValueBytes: 128 << 20, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.Put("r", "small", Int(1)); err != nil {
				b.Fatal(err)
			}
			big := make([]byte, mib<<20)
			rnd := rand.New(rand.NewPCG(uint64(mib), 1))
			for i := 0; i+8 <= len(big); i += 8 {
				binary.LittleEndian.PutUint64(big[i:], rnd.Uint64())
			}
			if _, err := db.Put("r", "big", Bytes(big)); err != nil {
				b.Fatal(err)
			}
			// Crash-like: abandon the DB without Close (so no sync marker)
			// and cut the big frame short.
			w := db.segs.Load().active
			path, size := w.Path(), w.Flushed()
			w.Close(false)
			db.lock.Close()
			if err := os.Truncate(path, size-4096); err != nil {
				b.Fatal(err)
			}
			tail := int64(mib<<20) - 4096
			opts := &Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)}
			b.SetBytes(tail)
			for b.Loop() {
				db, err := Open(dir, opts)
				if err != nil {
					b.Fatal(err)
				}
				if db.Recovery().TornBytes < tail {
					b.Fatalf("torn %d bytes, want %d", db.Recovery().TornBytes, tail)
				}
				db.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tail), "ns/tail-byte")
		})
	}
}

// fillRandom writes n keys of 16 bytes in random order, each with a
// 100-byte incompressible value, in batches of 1000, and reopens the
// directory (so reads come from sealed, mapped segments), as bench/ W2-W4
// do at a larger scale.
//
// The keys it returns share one allocation that holds no pointers, as
// bench/'s reused key buffer does: a slice of n strings, each its own
// allocation, would be n objects for the collector to mark in every
// cycle, a cost of the harness that bench/ does not have (it made GC
// marking a fifth of BenchmarkScan100's profile).
func fillRandom(b *testing.B, n int) (*DB, keyTable) {
	dir := b.TempDir()
	db, err := Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	keys := benchKeys(n)
	r := rand.New(rand.NewPCG(1, 2))
	val := make([]byte, 100)
	batch := make([]KeyValue, 0, 1000)
	for _, i := range r.Perm(n) {
		for j := range val {
			val[j] = byte(r.Uint32())
		}
		batch = append(batch, KeyValue{keys.at(i), Bytes(val)})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := db.MPut(DefaultRun, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := db.MPut(DefaultRun, batch); err != nil && len(batch) > 0 {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if db, err = Open(dir, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db, keys
}

// keyTable holds the keys "key:%012d" of 0 to len/16-1 in one buffer
// that holds no pointers (see fillRandom).
type keyTable []byte

func benchKeys(n int) keyTable {
	buf := make([]byte, 0, 16*n)
	for i := range n {
		buf = fmt.Appendf(buf, "key:%012d", i)
	}
	return buf
}

// at returns key i, a view of the table.
func (k keyTable) at(i int) string { return unsafe.String(&k[16*i], 16) }

// len returns how many keys the table holds.
func (k keyTable) len() int { return len(k) / 16 }

// BenchmarkGetRandom is bench/'s W2 in small: random Gets of 100-byte
// values among 256k keys.
func BenchmarkGetRandom(b *testing.B) {
	db, keys := fillRandom(b, 1<<18)
	b.ReportAllocs()
	b.ResetTimer()
	var seed atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(seed.Add(1), 7))
		for pb.Next() {
			if _, ok, err := db.Get(DefaultRun, keys.at(r.IntN(keys.len()))); err != nil || !ok {
				b.Errorf("get: %v %v", ok, err)
				return
			}
		}
	})
}

// BenchmarkScan100 is bench/'s W4 in small: a prefix scan of 100 keys.
func BenchmarkScan100(b *testing.B) {
	db, keys := fillRandom(b, 1<<18)
	r := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, err := db.Scan(DefaultRun, keys.at(r.IntN(keys.len()))[:14], 100, "")
		if err != nil || len(p.Entries) == 0 {
			b.Fatal(err, len(p.Entries))
		}
	}
}

// BenchmarkScanFunc100 is BenchmarkScan100 through ScanFunc: the same
// keys and values, passed to a function instead of returned in a page.
func BenchmarkScanFunc100(b *testing.B) {
	db, keys := fillRandom(b, 1<<18)
	r := rand.New(rand.NewPCG(3, 4))
	n := 0
	fn := func(_ []byte, v Versioned) bool { n++; return true }
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n = 0
		if err := db.ScanFunc(DefaultRun, keys.at(r.IntN(keys.len()))[:14], "", 100, fn); err != nil || n == 0 {
			b.Fatal(err, n)
		}
	}
}

// BenchmarkScanFunc100Parallel is BenchmarkScanFunc100 from every
// processor at once: what readers share (the DB's counters and hints)
// shows here as cache lines moving between cores.
func BenchmarkScanFunc100Parallel(b *testing.B) {
	db, keys := fillRandom(b, 1<<18)
	var seed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(seed.Add(1), 4))
		n := 0
		fn := func(_ []byte, v Versioned) bool { n++; return true }
		for pb.Next() {
			n = 0
			if err := db.ScanFunc(DefaultRun, keys.at(r.IntN(keys.len()))[:14], "", 100, fn); err != nil || n == 0 {
				b.Errorf("scan: %v, %d entries", err, n)
				return
			}
		}
	})
}

// BenchmarkFillRandom is bench/'s W1 in small: one 100-byte put per
// commit, keys in random order, Buffered.
func BenchmarkFillRandom(b *testing.B) {
	db := openT(b, nil)
	keys := make([]string, 1<<18)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%012d", i)
	}
	perm := rand.New(rand.NewPCG(1, 2)).Perm(len(keys))
	val := make([]byte, 100)
	r := rand.New(rand.NewPCG(5, 6))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range val {
			val[j] = byte(r.Uint32())
		}
		if _, err := db.Put(DefaultRun, keys[perm[i%len(perm)]], Bytes(val)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetRandomSerial is BenchmarkGetRandom from one goroutine.
func BenchmarkGetRandomSerial(b *testing.B) {
	db, keys := fillRandom(b, 1<<20)
	r := rand.New(rand.NewPCG(1, 7))
	idx := make([]int, 1<<16)
	for i := range idx {
		idx[i] = r.IntN(keys.len())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok, err := db.Get(DefaultRun, keys.at(idx[i&(len(idx)-1)])); err != nil || !ok {
			b.Fatalf("get: %v %v", ok, err)
		}
	}
}

// BenchmarkFillBatches is bench/'s W1b in small: MPut of 1000 100-byte
// values, keys in random order.
func BenchmarkFillBatches(b *testing.B) {
	db := openT(b, nil)
	keys := make([]string, 1<<20)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%012d", i)
	}
	perm := rand.New(rand.NewPCG(1, 2)).Perm(len(keys))
	r := rand.New(rand.NewPCG(5, 6))
	batch := make([]KeyValue, 1000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range batch {
			val := make([]byte, 100)
			for k := range val {
				val[k] = byte(r.Uint32())
			}
			batch[j] = KeyValue{keys[perm[(i*len(batch)+j)%len(perm)]], Bytes(val)}
		}
		if _, err := db.MPut(DefaultRun, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "puts/s")
}

// BenchmarkHistory10 is bench/'s W3 in small: History(10) of random keys
// among 100k with 10 versions each, written a version of every key at a
// time (so a key's versions lie far apart), not reopened.
func BenchmarkHistory10(b *testing.B) {
	db := openT(b, nil)
	const keys = 100000
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprintf("key:%012d", i)
	}
	r := rand.New(rand.NewPCG(5, 6))
	batch := make([]KeyValue, 0, 1000)
	for v := 0; v < 10; v++ {
		for i := range names {
			val := make([]byte, 100)
			for k := range val {
				val[k] = byte(r.Uint32())
			}
			batch = append(batch, KeyValue{names[i], Bytes(val)})
			if len(batch) == cap(batch) {
				if _, err := db.MPut(DefaultRun, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	b.Run("History", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h, err := db.History(DefaultRun, names[r.IntN(keys)], 10, 0)
			if err != nil || len(h) != 10 {
				b.Fatal(err, len(h))
			}
		}
	})
	b.Run("HistoryFunc", func(b *testing.B) {
		n := 0
		fn := func(Versioned) bool { n++; return true }
		b.ReportAllocs()
		for b.Loop() {
			n = 0
			if err := db.HistoryFunc(DefaultRun, names[r.IntN(keys)], 10, 0, fn); err != nil || n != 10 {
				b.Fatal(err, n)
			}
		}
	})
}

// BenchmarkOpenLarge measures Open of the directories issue 8 names: 1M
// keys x 1 version and 100k keys x 10 versions, 16-byte keys and 100-byte
// incompressible values, one Put per commit. "hints" is a reopen after a
// Close (every segment has its hint file), "trust" the same with
// TrustHints (no segment bytes read), "nohints" an Open that finds no
// hint file and scans every segment (and writes the hints: removed again
// before each round). Opens are read-only, so that every round finds the
// same directory. It takes a minute to fill: run it alone.
func BenchmarkOpenLarge(b *testing.B) {
	for _, shape := range []struct {
		name           string
		keys, versions int
	}{{"1Mx1", 1_000_000, 1}, {"100kx10", 100_000, 10}} {
		dir := b.TempDir()
		db, err := Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		val := make([]byte, 100)
		for range shape.versions {
			for k := range shape.keys {
				for i := range val {
					val[i] = byte(rng.Uint32())
				}
				if _, err := db.Put("bench", fmt.Sprintf("key-%011d", k), Bytes(val)); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		hints, err := filepath.Glob(filepath.Join(dir, "*.hint"))
		if err != nil || len(hints) == 0 {
			b.Fatalf("no hint files after Close: %v", err)
		}
		saved := map[string][]byte{}
		for _, h := range hints {
			saved[h], _ = os.ReadFile(h)
		}
		for _, mode := range []string{"hints", "trust", "nohints"} {
			b.Run(shape.name+"/"+mode, func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					for h, data := range saved {
						if mode == "nohints" {
							os.Remove(h)
						} else if err := os.WriteFile(h, data, 0o644); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					db, err := Open(dir, &Options{TrustHints: mode == "trust", ReadOnly: true})
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					db.Close()
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkWritesDuringCompaction measures what background compaction
// costs foreground writers: one goroutine of single Puts (Buffered) on a
// database whose sealed segments are 7/8 dead under Retention
// {KeepVersions: 1}, with background compaction on ("compacting") and off
// ("idle"). busy% is the share of the writes made while background work
// ran (in "idle", the hint files of the segments the writes seal);
// compare the ops/s of the two (issue 8 asks for at least 70%).
func BenchmarkWritesDuringCompaction(b *testing.B) {
	const keys, versions = 40_000, 8
	val := make([]byte, 100)
	for _, mode := range []string{"idle", "compacting"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			opts := &Options{SegmentSize: 2 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: -1}
			db, err := Open(dir, opts)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			for range versions {
				for k := range keys {
					binary.LittleEndian.PutUint64(val, rng.Uint64())
					if _, err := db.Put("bench", fmt.Sprintf("key-%07d", k), Bytes(val)); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			if mode == "compacting" {
				opts.CompactAt = 0.5
			}
			db, err = Open(dir, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			busy := 0
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				binary.LittleEndian.PutUint64(val, rng.Uint64())
				if _, err := db.Put("bench", fmt.Sprintf("new-%09d", i), Bytes(val)); err != nil {
					b.Fatal(err)
				}
				if len(db.compact.sem) > 0 {
					busy++
				}
			}
			b.ReportMetric(float64(busy)*100/float64(b.N), "busy%")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkCompact measures db.Compact of the bench's W7: 100k keys of
// 16 bytes written 10 times over with 100-byte incompressible values,
// in batches of 1000, under KeepVersions 1, so nine versions in ten go.
// The directory is filled once and copied for each round (untimed), and
// background compaction is off, so every round compacts the same bytes.
func BenchmarkCompact(b *testing.B) {
	const keys, versions = 100_000, 10
	tmpl := b.TempDir()
	opts := &Options{Retention: Retention{KeepVersions: 1}, CompactAt: -1}
	db, err := Open(tmpl, opts)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	batch := make([]KeyValue, 0, 1000)
	for range versions {
		for i := range keys {
			val := make([]byte, 100)
			for k := range val {
				val[k] = byte(r.Uint32())
			}
			batch = append(batch, KeyValue{fmt.Sprintf("key:%012d", i), Bytes(val)})
			if len(batch) == cap(batch) {
				if _, err := db.MPut(DefaultRun, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "db")
		if err := os.CopyFS(dir, os.DirFS(tmpl)); err != nil {
			b.Fatal(err)
		}
		db, err := Open(dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st, err := db.Compact(context.Background())
		b.StopTimer()
		if err != nil || st.VersionsDropped != keys*(versions-1) {
			b.Fatal(err, st.VersionsDropped)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*keys*versions), "ns/entry")
}
