package replica

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/strata-kv/strata/kv"
)

// The replicated cluster against one embedded DB, on this machine: a
// Put through the leader of 3 nodes on loopback (one raft round and
// fsync of raft's log a batch), a linearizable Get (a shared barrier), a
// stale Get on a follower, and the same calls on a kv.DB (Buffered, as
// the nodes' databases are). Run:
//
//	cd replica && go test -run X -bench . -benchtime 2s
func BenchmarkCluster(b *testing.B) {
	c := newCluster(b, 3, func(*raft.Config) {})
	leader := c.leader()
	follower := c.nodes[(c.index(leader)+1)%3]
	val := kv.Bytes(make([]byte, 100))
	for i := range 1000 {
		if _, err := leader.Put("r", fmt.Sprintf("k%04d", i), val); err != nil {
			b.Fatal(err)
		}
	}
	last, _ := leader.LastVersion(ReadOptions{})
	c.caughtUp(last)
	var n atomic.Int64
	b.Run("put/1-client", func(b *testing.B) {
		for b.Loop() {
			if _, err := leader.Put("r", fmt.Sprintf("w%d", n.Add(1)), val); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("put/16-clients", func(b *testing.B) {
		b.SetParallelism(8) // 2 cores x 8
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := leader.Put("r", fmt.Sprintf("w%d", n.Add(1)), val); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("get/linearizable", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := leader.Get("r", fmt.Sprintf("k%04d", n.Add(1)%1000), ReadOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get/linearizable-16-clients", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := leader.Get("r", fmt.Sprintf("k%04d", n.Add(1)%1000), ReadOptions{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("get/stale-follower", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := follower.Get("r", fmt.Sprintf("k%04d", n.Add(1)%1000), ReadOptions{Stale: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEmbedded is BenchmarkCluster's calls on one kv.DB.
func BenchmarkEmbedded(b *testing.B) {
	db, err := kv.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := kv.Bytes(make([]byte, 100))
	for i := range 1000 {
		if _, err := db.Put("r", fmt.Sprintf("k%04d", i), val); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.Run("put/1-client", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Put("r", fmt.Sprintf("w%d", n.Add(1)), val); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("put/16-clients", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := db.Put("r", fmt.Sprintf("w%d", n.Add(1)), val); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("get", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := db.Get("r", fmt.Sprintf("k%04d", n.Add(1)%1000)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
