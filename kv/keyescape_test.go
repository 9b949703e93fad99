package kv

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Reads keep no reference to the key they are given, so a caller's
// string(b) of a []byte key takes no memory of its own (the compiler
// keeps a short one on the stack): Get, GetAt, History and Exists of such
// a key allocate what they do for a constant key, and Get of an Int none.
// (Error messages quote the key with strconv: passed to fmt, every key
// escaped.)
func TestReadsOfABytesKeyAllocateNoKey(t *testing.T) {
	db := openT(t, nil)
	v, err := db.Put("r", "key-0001", Int(7))
	require.NoError(t, err)
	kb := []byte("key-0001")
	for _, c := range []struct {
		name                string
		constant, converted func()
	}{
		{"Get", func() { db.Get("r", "key-0001") }, func() { db.Get("r", string(kb)) }},
		{"GetAt", func() { db.GetAt("r", "key-0001", v) }, func() { db.GetAt("r", string(kb), v) }},
		{"History", func() { db.History("r", "key-0001", 1, 0) }, func() { db.History("r", string(kb), 1, 0) }},
		{"Exists", func() { db.Exists("r", "key-0001") }, func() { db.Exists("r", string(kb)) }},
	} {
		require.Equal(t, testing.AllocsPerRun(200, c.constant), testing.AllocsPerRun(200, c.converted),
			"%s of string(b) allocates more than of a constant key", c.name)
	}
	require.Zero(t, testing.AllocsPerRun(200, func() { db.Get("r", string(kb)) }), "Get of an Int")
}
