package kv

import (
	"fmt"
	"sync/atomic"
	"testing"
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
