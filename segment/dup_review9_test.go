package segment

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// The Encoder's and the Scanner's set of hashes is dropped after a
// commit of more than maxScratchPairs entries and rebuilt: commits and
// frames after one still have their repeats found, at every size.
func TestReview9DupAfterScratchDropped(t *testing.T) {
	s := newSeg(1)
	big := func(n, dupAt int) []EntrySpec {
		ents := make([]EntrySpec, n)
		for i := range ents {
			ents[i] = put("r", fmt.Sprint("k", i), "v")
		}
		if dupAt >= 0 {
			ents[n-1] = ents[dupAt]
		}
		return ents
	}
	for _, n := range []int{maxScratchPairs + 10, 9, 20, maxScratchPairs, 2 * maxScratchPairs, 9, 3 * maxScratchPairs, 16, 17} {
		for _, at := range []int{0, n / 2, n - 2} {
			_, _, err := s.enc.AppendCommit(s.data, int64(len(s.data)), s.synced, s.enc.next, s.enc.ts+7, big(n, at), nil)
			require.Error(t, err, "n %d dup of %d", n, at)
		}
		s.commit(t, big(n, -1)...)
	}
	_, _, err := scanAll(t, s.data)
	require.NoError(t, err)

	// The Scanner: a frame of many entries, then frames with a repeat.
	h := NewHeader(1, 10, 0)
	data := h.Encode()
	v := uint64(0)
	frame := func(n, dupAt int) {
		var parts [][]byte
		for i := range n {
			key := fmt.Sprint("x", i)
			if i == n-1 && dupAt >= 0 {
				key = fmt.Sprint("x", dupAt)
			}
			if v == 0 && i == 0 {
				parts = append(parts, entryBytes(byte(OpPut|flagRunNamed), 1, "r", len(key), key, 1, "v"))
				continue
			}
			parts = append(parts, entryBytes(byte(OpPut|1<<flagRunShift), len(key), key, 1, "w"))
		}
		data = WrapEntries(data, h, v, v, 0, uint64(n), bytes.Join(parts, nil))
		v++
	}
	frame(maxScratchPairs+10, -1)
	frame(20, -1)
	good := len(data)
	for _, n := range []int{9, 10, 16, 17, maxScratchPairs + 10} {
		data = data[:good]
		v = 2
		frame(n, n/2)
		frames, _, err := scanAll(t, data)
		require.ErrorIs(t, err, ErrMalformed, "n %d", n)
		require.Len(t, frames, 2)
	}
}
