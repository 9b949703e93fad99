package hashset

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Hashes that share the bits a slot might be taken from (all low bits
// zero, all high bits zero, consecutive) spread over the table: about
// 1.5 probes an Add whatever they are, held here to 4.
func TestProbesWhateverTheHashes(t *testing.T) {
	const n = 1 << 15
	for name, h := range map[string]func(i int) uint64{
		"low bits zero":  func(i int) uint64 { return uint64(i+1) << 32 },
		"high bits zero": func(i int) uint64 { return uint64(i + 1) },
		"one in 64":      func(i int) uint64 { return uint64(i+1) << 6 },
	} {
		var s Set
		s.Reset(n)
		for i := range n {
			require.False(t, s.Add(h(i)), "%s: hash %d", name, i)
		}
		require.LessOrEqual(t, s.Probes(), 4*n, name)
		require.True(t, s.Add(h(n/2)), name)
	}
}
