package segment

import (
	"fmt"
	"io"
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
