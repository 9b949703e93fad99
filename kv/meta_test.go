package kv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// Metadata commits with the data, survives a reopen, and stays out of
// Runs, the listings and Stats.Keys.
func TestMeta(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, nil)
	require.NoError(t, err)
	_, ok, err := db.Meta("applied")
	require.NoError(t, err)
	require.False(t, ok)
	v, err := db.Update(func(tx *kv.Txn) error {
		if err := tx.Put("r", "k", kv.Int(1)); err != nil {
			return err
		}
		return tx.PutMeta("applied", kv.Int(7))
	})
	require.NoError(t, err)
	_, err = db.Update(func(tx *kv.Txn) error { return tx.PutMeta("", kv.Int(1)) })
	require.ErrorIs(t, err, kv.ErrInvalidKey)
	require.ErrorIs(t, db.View(func(tx *kv.Txn) error { return tx.PutMeta("x", kv.Int(1)) }), kv.ErrReadOnly)
	require.NoError(t, db.Close())

	db, err = kv.Open(dir, nil)
	require.NoError(t, err)
	defer db.Close()
	m, ok, err := db.Meta("applied")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, v, m.Version, "one commit with the data")
	require.True(t, kv.Int(7).Equal(m.Value))
	runs, err := db.Runs()
	require.NoError(t, err)
	require.Equal(t, []kv.RunID{"r"}, runs)
	st := db.Stats()
	require.EqualValues(t, 1, st.Keys)
	require.EqualValues(t, 1, st.Versions)
}

func TestCheckWrite(t *testing.T) {
	db, err := kv.Open("", &kv.Options{Durability: kv.InMemory, MaxValueBytes: 100})
	require.NoError(t, err)
	defer db.Close()
	v := kv.String("ok")
	require.NoError(t, db.CheckWrite("r", "k", &v))
	require.NoError(t, db.CheckWrite("r", "k", nil))
	require.ErrorIs(t, db.CheckWrite("", "k", nil), kv.ErrInvalidRun)
	require.ErrorIs(t, db.CheckWrite("r", "", nil), kv.ErrInvalidKey)
	big := kv.Bytes(make([]byte, 200))
	require.ErrorIs(t, db.CheckWrite("r", "k", &big), kv.ErrInvalidValue)
	require.Zero(t, db.LastVersion(), "nothing written")
}
