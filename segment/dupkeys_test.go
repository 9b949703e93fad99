package segment

import (
	"fmt"
	"github.com/strata-kv/strata/internal/hashset"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func scanEnd(t *testing.T, data []byte) error {
	t.Helper()
	sc, err := NewScanner(data)
	require.NoError(t, err)
	for {
		if _, err := sc.Next(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// Run names and keys may hold any bytes: two different (run, key) pairs
// that would look alike joined by a NUL are not duplicates, in a commit of
// any size. (Found by review.)
func TestDistinctKeysWithNULAreNotDuplicates(t *testing.T) {
	for _, n := range []int{8, 9} {
		t.Run(fmt.Sprint(n, " entries"), func(t *testing.T) {
			h := NewHeader(1, 1, 0)
			enc := NewEncoder(h)
			ents := []EntrySpec{
				{Op: OpPut, Run: "a\x00b", Key: "c", Value: []byte("1")},
				{Op: OpPut, Run: "a", Key: "b\x00c", Value: []byte("2")},
			}
			for i := len(ents); i < n; i++ {
				ents = append(ents, EntrySpec{Op: OpPut, Run: "r", Key: fmt.Sprint("k", i), Value: []byte("v")})
			}
			data, _, err := enc.AppendCommit(h.Encode(), HeaderSize, HeaderSize, 1, 0, ents, nil)
			require.NoError(t, err, "the Encoder accepts the commit")
			require.NoError(t, scanEnd(t, data), "the Scanner must accept what the Encoder wrote")
		})
	}
}

// A key appears at most once in a commit: the Encoder refuses a commit
// that repeats one, rather than write a frame the Scanner rejects. (Found
// by review.)
func TestEncoderRefusesDuplicateKeys(t *testing.T) {
	h := NewHeader(1, 1, 0)
	enc := NewEncoder(h)
	ents := []EntrySpec{
		{Op: OpPut, Run: "r", Key: "k", Value: []byte("1")},
		{Op: OpPut, Run: "r", Key: "k", Value: []byte("2")},
	}
	data, _, err := enc.AppendCommit(h.Encode(), HeaderSize, HeaderSize, 1, 0, ents, nil)
	if err != nil {
		return // refused: fine
	}
	require.NoError(t, scanEnd(t, data), "the Encoder wrote a frame the Scanner rejects")
}

// dupKey finds a repeated (run, key) pair whatever the size of the batch
// (compared each with each up to 8, through a set of hashes beyond), and only a
// repeated one: the same key in two runs, or pairs that differ only in
// where a NUL falls, are not duplicates. A map is the oracle.
func TestDupKeyAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var scratch hashset.Set
	for round := range 3000 {
		n := 1 + rng.IntN(40)
		if round%100 == 0 {
			n = 2000
		}
		pairs := make([][2]string, n)
		for i := range pairs {
			pairs[i] = [2]string{[]string{"a", "b", "a\x00b"}[rng.IntN(3)], fmt.Sprint(rng.IntN(4 * n))}
			if rng.IntN(4) == 0 {
				pairs[i][1] = "\x00" + pairs[i][1]
			}
		}
		if round%3 == 0 { // a batch built without repeats
			seen := map[[2]string]bool{}
			out := pairs[:0]
			for _, p := range pairs {
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
			pairs = out
		}
		want := false
		seen := map[[2]string]bool{}
		for _, p := range pairs {
			want = want || seen[p]
			seen[p] = true
		}
		got, dup := dupKey(pairs, &scratch)
		require.Equal(t, want, dup, "round %d, %d pairs", round, len(pairs))
		if dup {
			n := 0
			for _, p := range pairs {
				if p == got {
					n++
				}
			}
			require.GreaterOrEqual(t, n, 2, "round %d: the pair named occurs twice", round)
		}
	}
}
