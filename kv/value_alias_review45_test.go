package kv

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A Value is immutable and may be shared (between goroutines, between the
// caller and the database). What AsArray hands out must not let one holder
// of the Value change what another sees: before c836f26 Array copied the
// items into a slice of exactly their length (append(make([]Value, 0,
// len(items)), items...)), so an append to AsArray's slice always
// reallocated, as the arena's copies do for Bytes ("its capacity ends
// with it, so an append to a byte value reallocates"). slices.Clone
// rounds the capacity up to the allocator's size class: for 13 items
// (40 bytes each) the slice has room for 14, and two holders that append
// to the same Value's items write the same slot.
func TestReview45ArrayItemsHaveNoSpareCapacity(t *testing.T) {
	items := make([]Value, 13)
	for i := range items {
		items[i] = Int(int64(i))
	}
	v := Array(items...)

	// Two independent holders of v extend its items, each for itself.
	a, ok := v.AsArray()
	require.True(t, ok)
	mine := append(a, String("mine"))
	b, _ := v.AsArray()
	_ = append(b, String("theirs"))
	got, _ := mine[13].AsString()
	require.Equal(t, "mine", got, "another holder's append overwrote this one's item: the Value's backing array is shared")
	require.Equal(t, len(a), cap(a), "AsArray's slice has spare capacity that belongs to the shared Value")
}
