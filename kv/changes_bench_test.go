package kv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// benchChangesDB holds 1M keys (16-byte keys, 100-byte values) in run
// "big", written in batches of 1000, then 10,000 single puts to run
// "feed" interleaved with more "big" writes: the store a change feed
// reads from.
func benchChangesDB(b *testing.B) (*DB, Version) {
	b.Helper()
	db := openT(b, &Options{})
	val := Bytes(make([]byte, 100))
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	fillRun(b, db, "big", n, 1000, val)
	start := db.LastVersion()
	for i := range 10_000 {
		if _, err := db.Put("feed", fmt.Sprintf("f%05d", i), Int(int64(i))); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Put("big", fmt.Sprintf("key-%011d", i), val); err != nil {
			b.Fatal(err)
		}
	}
	return db, start
}

// BenchmarkChanges measures a change feed's page of 100 changes from a
// random place in the last 20,000 commits, with 1M keys in the store
// (ns/op is per page; see ns/change), against a full Scan of the feed's
// run and a Scan page of 100 of the big run.
func BenchmarkChanges(b *testing.B) {
	db, start := benchChangesDB(b)
	b.Run("changes-page-100", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			after := start + Version(i*2%19_800)
			cs, err := db.Changes("feed", "", after, 100)
			if err != nil || len(cs) != 100 {
				b.Fatalf("%d changes, %v", len(cs), err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/change")
	})
	b.Run("scan-feed-10k", func(b *testing.B) {
		for b.Loop() {
			n := 0
			for cursor := ""; ; {
				p, err := db.Scan("feed", "", 1000, cursor)
				if err != nil {
					b.Fatal(err)
				}
				n += len(p.Entries)
				if cursor = p.Cursor; cursor == "" {
					break
				}
			}
			if n != 10_000 {
				b.Fatal(n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10_000), "ns/key")
	})
}

// BenchmarkCheckpoint measures Checkpoint of a database of
// STRATA_BENCH_CHECKPOINT_MB MiB (default 256) of segments, and reports
// the extra disk bytes the checkpoint takes (copied, not linked).
func BenchmarkCheckpoint(b *testing.B) {
	mb := 256
	if s := os.Getenv("STRATA_BENCH_CHECKPOINT_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	db := openT(b, &Options{})
	raw := make([]byte, 1000)
	for i := range raw {
		raw[i] = byte(i*7919 ^ i>>3) // poorly compressible
	}
	val := Bytes(raw)
	fillRun(b, db, "r", mb<<10, 100, val) // values of ~1 KiB
	var copied int64
	for i := 0; b.Loop(); i++ {
		dir := filepath.Join(b.TempDir(), fmt.Sprint(i))
		if _, err := db.Checkpoint(dir); err != nil {
			b.Fatal(err)
		}
		copied = 0
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			a, _ := os.Stat(filepath.Join(dir, e.Name()))
			s, err := os.Stat(filepath.Join(db.dir, e.Name()))
			if err != nil || !os.SameFile(a, s) {
				copied += a.Size()
			}
		}
	}
	b.ReportMetric(float64(copied)/(1<<20), "MiB-copied")
	b.ReportMetric(float64(mb), "MiB-db")
}

// segmentBytes sums the bytes the segments hold (the active one's
// frames, not the space reserved ahead of them).
func segmentBytes(db *DB) int64 {
	t := db.segs.Load()
	n := t.active.Size()
	for _, s := range t.sealed {
		n += int64(len(s.Bytes()))
	}
	return n
}

// BenchmarkDropForkRun measures DropRun and ForkRun of a run of 1M keys
// (100k with -short; 16-byte keys, 100-byte values) and the bytes each
// adds to the segments, reported against one Put's (the contract asks
// for no more: each writes one run event).
func BenchmarkDropForkRun(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	for _, op := range []string{"drop", "fork"} {
		b.Run(op, func(b *testing.B) {
			var added, onePut int64
			for b.Loop() {
				b.StopTimer()
				db := openT(b, &Options{Durability: Strict})
				val := Bytes(make([]byte, 100))
				fillRun(b, db, "big", n, 1000, val)
				before := segmentBytes(db)
				if _, err := db.Put("other", "k", val); err != nil {
					b.Fatal(err)
				}
				onePut = segmentBytes(db) - before
				before += onePut
				b.StartTimer()
				var err error
				if op == "drop" {
					_, err = db.DropRun("big")
				} else {
					_, err = db.ForkRun("big", "copy", 0)
				}
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				added = segmentBytes(db) - before
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(added), "bytes-added")
			b.ReportMetric(float64(onePut), "bytes-one-put")
		})
	}
}

// fillRun writes n keys "key-%011d" holding val to run, in MPut batches
// of batch keys.
func fillRun(b *testing.B, db *DB, run RunID, n, batch int, val Value) {
	b.Helper()
	for i := 0; i < n; i += batch {
		kvs := make([]KeyValue, min(batch, n-i))
		for j := range kvs {
			kvs[j] = KeyValue{Key: fmt.Sprintf("key-%011d", i+j), Value: val}
		}
		if _, err := db.MPut(run, kvs); err != nil {
			b.Fatal(err)
		}
	}
}
