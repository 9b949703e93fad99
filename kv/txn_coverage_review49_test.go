package kv

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReview49TxnReadYourWritesModel: in an Update, every read (Get,
// Exists, Keys with and without a limit, Scan paged, Range forward and
// backward with bounds and paged) sees the snapshot with the
// transaction's own puts and deletes laid over it, as a model says, and
// the commit leaves what the model says (coverage: random mixes of own
// writes over committed and deleted keys, limits and cursors together).

func TestReview49TxnReadYourWritesModel(t *testing.T) {
	r := newRand49(7)
	for trial := 0; trial < 200; trial++ {
		db := openT(t, &Options{Durability: InMemory})
		keys := []string{"a", "a/1", "a/2", "ab", "b", "b/1", "c", "c/x", "d", "z", "é"}
		model := map[string]int64{}
		for _, k := range keys {
			if r.IntN(2) == 0 {
				mustPut(t, db, "r", k, Int(int64(r.IntN(100))))
			}
			if r.IntN(4) == 0 {
				_, err := db.Delete("r", k)
				require.NoError(t, err)
			}
		}
		for _, k := range keys {
			if v, ok, _ := db.Get("r", k); ok {
				model[k], _ = v.Value.AsInt()
			}
		}
		_, err := db.Update(func(tx *Txn) error {
			for i := 0; i < 6; i++ {
				k := keys[r.IntN(len(keys))]
				if r.IntN(2) == 0 {
					n := int64(1000 + r.IntN(100))
					require.NoError(t, tx.Put("r", k, Int(n)))
					model[k] = n
				} else {
					d, err := tx.Delete("r", k)
					require.NoError(t, err)
					_, was := model[k]
					require.Equal(t, was, d, "delete of %s", k)
					delete(model, k)
				}
			}
			sorted := func(lo, hi string, rev bool) []string {
				var out []string
				for _, k := range keys {
					if _, ok := model[k]; ok && k >= lo && (hi == "" || k < hi) {
						out = append(out, k)
					}
				}
				if rev {
					for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
						out[i], out[j] = out[j], out[i]
					}
				}
				return out
			}
			for _, prefix := range []string{"", "a", "a/", "b", "c/", "q"} {
				want := sorted(prefix, prefixEnd(prefix), false)
				got, err := tx.Keys("r", prefix, 0)
				require.NoError(t, err)
				require.Equal(t, nz(want), nz(got), "keys %q", prefix)
				lim := 1 + r.IntN(3)
				got, err = tx.Keys("r", prefix, lim)
				require.NoError(t, err)
				require.Equal(t, nz(want[:min(lim, len(want))]), nz(got))
				var all []string
				cur := ""
				for {
					p, err := tx.Scan("r", prefix, lim, cur)
					require.NoError(t, err)
					for _, e := range p.Entries {
						all = append(all, e.Key)
						require.Equal(t, model[e.Key], must2(e.Value.AsInt()), e.Key)
					}
					if p.Cursor == "" {
						break
					}
					cur = p.Cursor
				}
				require.Equal(t, nz(want), nz(all), "scan %q", prefix)
			}
			for _, b := range [][2]string{{"", ""}, {"a/", "b/1"}, {"ab", "ab"}, {"b", ""}, {"", "c"}} {
				for _, rev := range []bool{false, true} {
					want := sorted(b[0], b[1], rev)
					lim := 1 + r.IntN(3)
					ro := RangeOptions{Start: b[0], End: b[1], Reverse: rev, Limit: lim}
					var all []string
					for {
						p, err := tx.Range("r", ro)
						require.NoError(t, err)
						for _, e := range p.Entries {
							all = append(all, e.Key)
							require.Equal(t, model[e.Key], must2(e.Value.AsInt()), e.Key)
						}
						if p.Cursor == "" {
							break
						}
						ro.Cursor = p.Cursor
					}
					require.Equal(t, nz(want), nz(all), "range %v rev %v", b, rev)
				}
			}
			for _, k := range keys {
				v, ok, err := tx.Get("r", k)
				require.NoError(t, err)
				mv, mok := model[k]
				require.Equal(t, mok, ok, k)
				if ok {
					require.Equal(t, mv, must2(v.Value.AsInt()))
				}
				ex, err := tx.Exists("r", k)
				require.NoError(t, err)
				require.Equal(t, mok, ex)
			}
			return nil
		})
		require.NoError(t, err)
		for _, k := range keys {
			v, ok, err := db.Get("r", k)
			require.NoError(t, err)
			mv, mok := model[k]
			require.Equal(t, mok, ok, k)
			if ok {
				require.Equal(t, mv, must2(v.Value.AsInt()))
			}
		}
	}
}

func nz(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func newRand49(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

// TestReview49TxnKeyReadsConflictWithRunEvents: a key read (Get, Exists)
// or a prefix listed (Keys) in an Update conflicts with a DropRun or a
// ForkRun that changes it (review 47 covered Range only).

func TestReview49TxnKeyReadsConflictWithRunEvents(t *testing.T) {
	db := openT(t, nil)
	mustPut(t, db, "src", "b", Int(1))
	mustPut(t, db, "r", "k", Int(1))
	// read key then DropRun
	_, err := db.Update(func(tx *Txn) error {
		_, ok, err := tx.Get("r", "k")
		require.True(t, ok)
		require.NoError(t, err)
		v, err := db.DropRun("r")
		require.NoError(t, err)
		require.NotZero(t, v)
		return tx.Put("log", "x", Int(1))
	})
	require.ErrorIs(t, err, ErrConflict)
	// read absent key then fork creates it
	_, err = db.Update(func(tx *Txn) error {
		ok, err := tx.Exists("dst", "b")
		require.False(t, ok)
		require.NoError(t, err)
		v, err := db.ForkRun("src", "dst", 0)
		require.NoError(t, err)
		require.NotZero(t, v)
		return tx.Put("log", "x", Int(2))
	})
	require.ErrorIs(t, err, ErrConflict)
	// keys listing then drop
	_, err = db.Update(func(tx *Txn) error {
		ks, err := tx.Keys("dst", "", 0)
		require.NoError(t, err)
		require.Equal(t, []string{"b"}, ks)
		v, err := db.DropRun("dst")
		require.NoError(t, err)
		require.NotZero(t, v)
		return tx.Put("log", "x", Int(3))
	})
	require.ErrorIs(t, err, ErrConflict)
}

// TestReview49ForkedKeysInWritesAndTxns: the conditional writes work on a
// forked key (CAS by the version Get shows, Incr, CAS by value, Delete)
// without touching the source, and a transaction that read forked keys
// conflicts with a write to them but not with writes to the source's
// keys, which it did not read.

func TestReview49ForkedKeysInWritesAndTxns(t *testing.T) {
	db := openT(t, nil)
	v1 := mustPut(t, db, "src", "b", Int(1))
	mustPut(t, db, "src", "f", Float(1))
	fv, err := db.ForkRun("src", "dst", 0)
	require.NoError(t, err)
	got := mustGet(t, db, "dst", "b")
	t.Logf("fork at %d, dst/b version %d (src wrote %d)", fv, got.Version, v1)
	ok, err := db.CompareAndSwapVersion("dst", "b", got.Version, Int(2))
	require.NoError(t, err)
	require.True(t, ok, "CAS with the version Get returned")
	require.EqualValues(t, 1, must2(mustGet(t, db, "src", "b").Value.AsInt()))
	n, err := db.Incr("dst", "b", 5)
	require.NoError(t, err)
	require.EqualValues(t, 7, n)
	_, err = db.Incr("dst", "f", 1)
	require.ErrorIs(t, err, ErrWrongType)
	one := Float(1)
	ok, err = db.CompareAndSwapValue("dst", "f", &one, Float(2))
	require.NoError(t, err)
	require.True(t, ok)
	d, err := db.Delete("dst", "f")
	require.NoError(t, err)
	require.True(t, d)
	mustGet(t, db, "src", "f")
	// Txn on forked key: read, concurrent write, conflict
	_, err = db.Update(func(tx *Txn) error {
		_, ok, err := tx.Get("dst", "b")
		require.True(t, ok)
		require.NoError(t, err)
		mustPut(t, db, "dst", "b", Int(100))
		return tx.Put("dst", "z", Int(1))
	})
	require.ErrorIs(t, err, ErrConflict)
}

func TestReview49ForkedKeysTxnNoFalseConflict(t *testing.T) {
	db := openT(t, nil)
	mustPut(t, db, "src", "b", Int(1))
	mustPut(t, db, "src", "p/1", Int(1))
	_, err := db.ForkRun("src", "dst", 0)
	require.NoError(t, err)
	_, err = db.Update(func(tx *Txn) error {
		_, ok, err := tx.Get("dst", "b")
		require.True(t, ok)
		require.NoError(t, err)
		_, err = tx.Keys("dst", "p/", 0)
		require.NoError(t, err)
		_, err = tx.Range("dst", RangeOptions{})
		require.NoError(t, err)
		mustPut(t, db, "src", "b", Int(100))
		mustPut(t, db, "src", "p/1", Int(100))
		mustPut(t, db, "src", "p/2", Int(100))
		_, err = db.Delete("src", "b")
		require.NoError(t, err)
		return tx.Put("dst", "z", Int(1))
	})
	require.NoError(t, err, "writes to src are to keys the transaction did not read")
	require.EqualValues(t, 1, must2(mustGet(t, db, "dst", "b").Value.AsInt()))
}

// TestReview49CASEqualButDifferentlyBuilt: CompareAndSwapValue compares
// with Equal: -0.0 matches 0.0, objects built in another order and
// Bytes(nil) inside match, NaN never matches, Int never matches Float, a
// Null expected does not match an absent key, and expected nil matches a
// deleted key.

func TestReview49CASEqualButDifferentlyBuilt(t *testing.T) {
	db := openT(t, nil)
	ok, err := db.CompareAndSwapVersion("r", "a", 0, Int(1))
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = db.CompareAndSwapVersion("r", "a", 0, Int(1))
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = db.CompareAndSwapValue("r", "b", nil, Float(0))
	require.NoError(t, err)
	require.True(t, ok)
	negz := Float(math.Copysign(0, -1))
	ok, err = db.CompareAndSwapValue("r", "b", &negz, Float(math.NaN()))
	require.NoError(t, err)
	require.True(t, ok)
	nan := Float(math.NaN())
	ok, err = db.CompareAndSwapValue("r", "b", &nan, Int(1))
	require.NoError(t, err)
	require.False(t, ok)
	obj1 := Object(map[string]Value{"a": Int(1), "b": Array(Int(2), Bytes(nil))})
	obj2 := Object(map[string]Value{"b": Array(Int(2), Bytes([]byte{})), "a": Int(1)})
	mustPut(t, db, "r", "o", obj1)
	ok, err = db.CompareAndSwapValue("r", "o", &obj2, Int(3))
	require.NoError(t, err)
	require.True(t, ok)
	f := Float(3)
	ok, err = db.CompareAndSwapValue("r", "o", &f, Int(4))
	require.NoError(t, err)
	require.False(t, ok)
	null := Null()
	ok, err = db.CompareAndSwapValue("r", "nokey", &null, Int(4))
	require.NoError(t, err)
	require.False(t, ok)
	// deleted key: expected nil works
	_, err = db.Delete("r", "o")
	require.NoError(t, err)
	ok, err = db.CompareAndSwapValue("r", "o", nil, Int(5))
	require.NoError(t, err)
	require.True(t, ok)
}
