package index

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkFindPreds measures findPreds alone: windows of 256 new keys,
// sorted, whose neighbours in the list of 1M keys lie 1, 64 or 1000 keys
// apart (the density of a linker's batch of 1M, 16k or 1k keys).
func BenchmarkFindPreds(b *testing.B) {
	keys := benchKeys(1 << 20)
	ix := filled(b, keys)
	ix.linkPending()
	r := rand.New(rand.NewPCG(5, 6))
	// Each density's windows are made once (a benchmark function may
	// run more than once), and stay unlinked: findPreds only reads.
	made := map[int][][]uint32{}
	for _, per := range []int{1, 64, 1000} {
		b.Run(fmt.Sprint(per), func(b *testing.B) {
			wins := made[per]
			if wins == nil {
				ix.linkMu.Lock() // the linker goroutine waits: the windows stay unlinked
				for w := 0; w < 64; w++ {
					start := r.IntN(len(keys) - 256*per - 1)
					for i := 0; i < 256; i++ {
						k := fmt.Sprintf("%sx", keys[start+i*per+r.IntN(per)])
						rec := mkrec(uint64(1<<30+per<<16+w*256+i), false)
						rec.Field = int64(i) // within a segment's 4 GiB
						if err := ix.Add("default", k, rec); err != nil {
							ix.linkMu.Unlock() // else the linker waits for ever
							b.Fatal(err)
						}
					}
					wins = append(wins, ix.takePending())
				}
				ix.linkMu.Unlock()
				made[per] = wins
			}
			found := new([window][maxHeight]uint32)
			n := 0
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				w := wins[i%len(wins)]
				for j := 0; j < len(w); j += window {
					ix.findPreds(w[j:min(j+window, len(w))], found)
				}
				n += len(w)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/key")
		})
	}
}
