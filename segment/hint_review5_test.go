package segment

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// encodeBoth builds es in the order given and returns the builder's
// Encode and EncodeHint of the same entries sorted by Compare.
func encodeBoth(t *testing.T, es []HintEntry) (got, want []byte) {
	t.Helper()
	b := builderOf(es)
	h := Header{ID: 3, Salt: 77, BaseVersion: 1}
	got = b.Encode(h, 1<<40, 1<<40)
	sorted := slices.Clone(es)
	slices.SortFunc(sorted, func(x, y HintEntry) int { return x.Compare(&y) })
	want = EncodeHint(HintHeader{Segment: 3, Salt: 77, Size: 1 << 40, Base: 1, Last: 1 << 40}, sorted)
	return got, want
}

// randKey returns a key of 1..max bytes drawn from a small alphabet that
// includes zero bytes, so that prefixes and zero padding collide often.
func randKey(r *rand.Rand, max int) []byte {
	n := 1 + r.IntN(max)
	k := make([]byte, n)
	for i := range k {
		k[i] = []byte{0, 1, 'a', 0xff}[r.IntN(4)]
	}
	return k
}

// Keys around 16 bytes, with zero bytes and shared prefixes, many runs:
// Encode must give exactly EncodeHint's bytes.
func TestHintBuilderEncodeMatchesEncodeHintReview5(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for round := range 200 {
		n := 1 + r.IntN(300)
		seen := map[string]bool{}
		var es []HintEntry
		for len(es) < n {
			run := []byte(fmt.Sprint("r", r.IntN(4)))
			var k []byte
			switch r.IntN(3) {
			case 0:
				k = randKey(r, 20)
			case 1: // 15..18 bytes of a shared prefix padded by zeros
				k = append(bytes.Repeat([]byte{'p'}, 14), make([]byte, 1+r.IntN(4))...)
				k[len(k)-1] = []byte{0, 1}[r.IntN(2)]
			default:
				k = append(bytes.Repeat([]byte{'q'}, 16), randKey(r, 3)...)
			}
			v := uint64(1 + r.IntN(5))
			id := string(run) + "\xff\xff" + string(k) + fmt.Sprint(v)
			if seen[id] {
				continue
			}
			seen[id] = true
			es = append(es, HintEntry{Run: run, Key: k, Version: v, Timestamp: int64(r.IntN(1000)),
				Offset: HeaderSize + int64(r.IntN(1000)), Len: uint32(r.IntN(100)), Op: OpPut})
		}
		got, want := encodeBoth(t, es)
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: Encode differs from EncodeHint of the sorted entries", round)
		}
	}
}

// More than 65536 runs, entries across several record blocks and key
// chunks (the first block and chunk grown as slices), long keys.
func TestHintBuilderManyRunsBlocksChunksReview5(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	r := rand.New(rand.NewPCG(9, 9))
	const n = 5*recBlock + 1234
	es := make([]HintEntry, 0, n)
	for i := range n {
		run := []byte(fmt.Sprintf("run%06d", (i*7919)%70_001))
		k := []byte(fmt.Sprintf("%032d/%d", r.IntN(1<<30), i)) // 30+ bytes: 1.3 MiB+ of keys... plus padding
		k = append(k, make([]byte, r.IntN(30))...)
		es = append(es, HintEntry{Run: run, Key: k, Version: uint64(1 + r.IntN(10)), Timestamp: int64(i),
			Offset: HeaderSize + int64(i), Len: uint32(i % 7), Op: OpPut})
	}
	b := builderOf(es)
	require.Greater(t, len(b.chunks), 1)
	require.Greater(t, len(b.blocks), 3)
	require.Greater(t, len(b.runs), 1<<16)
	got, want := encodeBoth(t, es)
	require.True(t, bytes.Equal(got, want), "Encode differs from EncodeHint")
	hd, all, err := readHint(t, got)
	require.NoError(t, err)
	require.EqualValues(t, n, hd.Entries)
	require.Len(t, all, n)
}
