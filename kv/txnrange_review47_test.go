package kv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// A Range in an Update conflicts with a ForkRun into, or a DropRun of,
// the interval it covered (both change what the Range listed).
func TestReview47TxnRangeConflictsWithRunEvents(t *testing.T) {
	db, err := kv.Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Put("src", "b", kv.Int(1))
	require.NoError(t, err)
	// Empty range, then a fork fills it.
	_, err = db.Update(func(tx *kv.Txn) error {
		p, err := tx.Range("dst", kv.RangeOptions{Start: "a", End: "c"})
		require.NoError(t, err)
		require.Empty(t, p.Entries)
		v, err := db.ForkRun("src", "dst", 0)
		require.NoError(t, err)
		require.NotZero(t, v)
		return tx.Put("log", "x", kv.Int(1))
	})
	require.ErrorIs(t, err, kv.ErrConflict)
	// Reverse paged range, then a drop empties it.
	_, err = db.Update(func(tx *kv.Txn) error {
		p, err := tx.Range("dst", kv.RangeOptions{Reverse: true, Limit: 1})
		require.NoError(t, err)
		require.Len(t, p.Entries, 1)
		v, err := db.DropRun("dst")
		require.NoError(t, err)
		require.NotZero(t, v)
		return tx.Put("log", "x", kv.Int(2))
	})
	require.ErrorIs(t, err, kv.ErrConflict)
	// A fork outside the interval covered does not conflict... (not
	// required; what is required is the phantom case above).
	_, err = db.Update(func(tx *kv.Txn) error {
		p, err := tx.Range("dst", kv.RangeOptions{Start: "c"})
		require.NoError(t, err)
		require.Empty(t, p.Entries)
		_, err = db.ForkRun("src", "dst", 0)
		require.NoError(t, err)
		return tx.Put("log", "x", kv.Int(3))
	})
	require.NoError(t, err)
}
