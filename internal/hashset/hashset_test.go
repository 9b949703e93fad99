package hashset

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Add reports exactly the hashes added before (here no two hashes
// differ only in the top bit), at every size and after Reset.
func TestAddFindsRepeats(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s Set
	for _, n := range []int{0, 1, 7, 16, 100, 1000, 5000} {
		s.Reset(n)
		require.GreaterOrEqual(t, s.Size(), 2*n)
		seen := map[uint64]bool{}
		for range n {
			h := r.Uint64() >> 1
			if r.IntN(4) == 0 && len(seen) > 0 {
				for k := range seen { // a repeat
					h = k
					break
				}
			}
			require.Equal(t, seen[h], s.Add(h), "n %d hash %x", n, h)
			seen[h] = true
		}
	}
	// The top bit does not count.
	s.Reset(2)
	require.False(t, s.Add(5))
	require.True(t, s.Add(5|1<<63))
	// Reset forgets.
	s.Reset(2)
	require.False(t, s.Add(5))
}
