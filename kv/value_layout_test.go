package kv

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Values equal by Equal are equal to reflect.DeepEqual too (testify's
// Equal, which applications' tests use), however they were made: built,
// or read back from the database. The packed layout keeps every byte
// and item in fields DeepEqual follows, not behind bare pointers.
func TestValueDeepEqualAcrossOrigins(t *testing.T) {
	db := openT(t, nil)
	values := []Value{
		Null(), Bool(true), Int(-3), Float(2.5), String(""), String("héllo"),
		Bytes(nil), Bytes([]byte{0, 1, 2}), Array(), Array(Int(1), String("x"), Bytes([]byte("y"))),
		Object(nil), Object(map[string]Value{"a": Array(Null()), "b": Object(map[string]Value{"c": Float(-0.5)})}),
	}
	for i, v := range values {
		key := string(rune('a' + i))
		mustPut(t, db, "r", key, v)
		got := mustGet(t, db, "r", key)
		require.True(t, v.Equal(got.Value), "%v", v)
		require.Equal(t, v, got.Value, "%v: DeepEqual of a built value and the one read back", v)
		page, err := db.Scan("r", key, 1, "")
		require.NoError(t, err)
		require.Equal(t, v, page.Entries[0].Value, "%v read by Scan", v)
	}
	require.NotEqual(t, String("ab"), Bytes([]byte("ab")), "a String is not the Bytes of its bytes")
	require.False(t, String("ab").Equal(Bytes([]byte("ab"))))
	require.Equal(t, Bytes(nil), Bytes([]byte{}), "empty bytes are one value")
	b, ok := Bytes(nil).AsBytes()
	require.True(t, ok)
	require.NotNil(t, b)
	require.Empty(t, b)
	require.LessOrEqual(t, unsafe.Sizeof(Value{}), uintptr(40), "a Value's size, which pages and histories pay per entry")
}
