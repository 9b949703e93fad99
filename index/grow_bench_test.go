package index

import "testing"

// BenchmarkGrow measures a rehash of the hash table of an index of 1M
// keys added in random order (a key's node lies anywhere in the arena):
// the writer pays it, inline, each time the table is three quarters
// full.
func BenchmarkGrow(b *testing.B) {
	ix := filled(b, benchKeys(1<<20))
	defer ix.Close()
	t := ix.hash.Load()
	b.ReportAllocs()
	for b.Loop() {
		ix.grow(t) // publishes a new table each time; t stays the source
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(ix.keys.Load()), "ns/key")
}
