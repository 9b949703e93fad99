package segment

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/strata-kv/strata/internal/offheap"
	"github.com/stretchr/testify/require"
)

// A large build keeps its records, keys and sort keys outside the Go
// heap; Release gives them back and empties the builder, which then
// builds the same hint again.
func TestHintBuilderReleasesMemory(t *testing.T) {
	var es []HintEntry
	for i := range 100000 {
		es = append(es, HintEntry{Run: []byte("r"), Key: fmt.Appendf(nil, "key:%012d", (i*7919)%100000), Version: uint64(i + 1),
			Timestamp: int64(i), Offset: HeaderSize + int64(i)*120, Len: 100, Op: 1})
	}
	h := Header{ID: 3, Salt: 5, BaseVersion: 1}
	b := builderOf(es)
	first := b.Encode(h, 1<<30, uint64(len(es)))
	if offheap.Enabled {
		// Records (40 B) and sort keys (24 B) beyond the first block,
		// and keys beyond the first chunk.
		require.Greater(t, b.mem.Mapped(), 5<<20)
	}
	b.Release()
	require.Zero(t, b.mem.Mapped())
	require.Zero(t, b.n)
	require.Len(t, b.Encode(h, 1<<30, 0), HintHeaderSize+8, "an empty builder: a header and a checksum")
	for _, e := range es {
		require.NoError(t, b.add(e.Run, e.Key, e.Version, e.Timestamp, e.Offset, e.Len, e.Op, e.Codec))
	}
	require.True(t, bytes.Equal(first, b.Encode(h, 1<<30, uint64(len(es)))))
	b.Release()
	require.Zero(t, b.mem.Mapped())
}
