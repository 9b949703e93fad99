package segment

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// Brute force: order() equals a plain comparison sort by (run, key,
// version), and counts its distinct (run, key) pairs, for many random
// shapes, including >256 runs whose names sort
// differently from their arrival, 0x00/0xff bytes, lengths 0..40.
func TestReview12OrderBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	alpha := [][]byte{[]byte("\x00\xff"), []byte("\x00\x01"), []byte("a\x00"), []byte("\x00"), []byte("\xff\xfe\x00\x01\x80")}
	for round := range 400 {
		n := []int{1, 2, 3, 5, 17, 300, 2000, 20000}[round%8]
		nruns := []int{1, 2, 3, 300, 70000}[rng.IntN(5)]
		al := alpha[rng.IntN(len(alpha))]
		maxLen := []int{3, 16, 17, 20, 40}[rng.IntN(5)]
		var b HintBuilder
		type ent struct {
			run, key []byte
			v        uint64
		}
		var want []ent
		var prev []ent
		for i := range n {
			var e ent
			if len(prev) > 0 && rng.IntN(3) == 0 {
				p := prev[rng.IntN(len(prev))]
				e = ent{p.run, p.key, rng.Uint64N(1 << uint(rng.IntN(64)))}
			} else {
				e.run = fmt.Appendf(nil, "%x", rng.IntN(nruns)*7919%1000003)
				if rng.IntN(2) == 0 {
					e.run = fmt.Appendf(nil, "%d", rng.IntN(nruns))
				}
				l := rng.IntN(maxLen + 1)
				e.key = make([]byte, l)
				for j := range e.key {
					e.key[j] = al[rng.IntN(len(al))]
				}
				e.v = rng.Uint64()
			}
			_ = i
			prev = append(prev, e)
			if err := b.add(e.run, e.key, e.v, int64(i), int64(100+i), 1, OpPut, 0); err != nil {
				t.Fatal(err)
			}
			want = append(want, e)
		}
		c := func(x, y ent) int {
			return cmp.Or(bytes.Compare(x.run, y.run), bytes.Compare(x.key, y.key), cmp.Compare(x.v, y.v))
		}
		slices.SortFunc(want, c)
		got := b.sorted()
		if len(got) != n {
			t.Fatalf("len %d != %d", len(got), n)
		}
		for i := range got {
			g := ent{got[i].Run, got[i].Key, got[i].Version}
			if c(g, want[i]) != 0 {
				t.Fatalf("round %d n %d runs %d: entry %d got %q %q %d want %q %q %d", round, n, nruns, i, g.run, g.key, g.v, want[i].run, want[i].key, want[i].v)
			}
		}
		// The distinct (run, key) pairs order counts for the header.
		keys := uint64(0)
		for i := range want {
			if i == 0 || !bytes.Equal(want[i].run, want[i-1].run) || !bytes.Equal(want[i].key, want[i-1].key) {
				keys++
			}
		}
		if _, got := b.order(); got != keys {
			t.Fatalf("round %d n %d runs %d: order counts %d keys, want %d", round, n, nruns, got, keys)
		}
	}
}
