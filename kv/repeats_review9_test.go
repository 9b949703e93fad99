package kv

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// repeats never misses a repeated key, whatever the batch's size (around
// the pooled table's limit too) and the order in which pooled tables of
// other sizes come back: a map is the oracle.
func TestReview9RepeatsAgreesWithAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 1))
	sizes := []int{9, 10, 16, 17, 100, 1 << 15, 1<<16 - 1, 1 << 16, 1<<16 + 1, 1 << 17, 12, 40000, 9}
	for round := range 40 {
		n := sizes[round%len(sizes)]
		es := make([]KeyValue, n)
		for i := range es {
			es[i].Key = fmt.Sprintf("k%d-%d", round, i)
		}
		want := false
		switch round % 3 {
		case 1: // a repeat anywhere, first and last included
			i, j := r.IntN(n), r.IntN(n)
			if round%4 == 1 {
				i, j = 0, n-1
			}
			if i != j {
				es[j].Key = es[i].Key
				want = true
			}
		case 2: // empty keys
			es[r.IntN(n)].Key = ""
			if j := r.IntN(n); es[j].Key != "" {
				es[j].Key = ""
				want = true
			}
		}
		require.Equal(t, want, repeats(es), "round %d n %d", round, n)
	}
}
