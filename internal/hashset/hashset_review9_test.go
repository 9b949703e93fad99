package hashset

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Adversarial tables: every hash in one probe run (same low bits), pairs
// that differ only in the top bit, a table filled to its n (it must not
// loop: at least half stays free), and a big table reused for small n and
// back. Add reports a repeat exactly for a hash seen before (or one
// differing only in the top bit), never missing one.
func TestReview9AddAdversarial(t *testing.T) {
	var s Set
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 8, 9, 16, 17, 1000, 1 << 16, 3, 1 << 17, 5} {
		for mode := range 3 {
			if mode == 0 && n > 1<<13 {
				continue // one cluster is quadratic: ~n*n/2 probes
			}
			s.Reset(n)
			require.GreaterOrEqual(t, s.Size(), 2*n)
			seen := map[uint64]bool{}
			for i := range n {
				var h uint64
				switch mode {
				case 0: // one cluster: only bits above the mask differ
					h = uint64(i+1) << 40
				case 1: // top-bit twins
					h = uint64(i/2+1)<<8 | uint64(i%2)<<63
				default:
					h = r.Uint64()
				}
				want := seen[h|1<<63]
				require.Equal(t, want, s.Add(h), "n %d mode %d i %d", n, mode, i)
				seen[h|1<<63] = true
			}
			// Every hash added is still found.
			for h := range seen {
				require.True(t, s.Add(h))
			}
		}
	}
}
