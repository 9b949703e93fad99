package kv

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUpdateCommitsAtomically(t *testing.T) {
	db := openT(t, nil)
	mustPut(t, db, "r", "gone", Int(0))
	v, err := db.Update(func(tx *Txn) error {
		require.NoError(t, tx.Put("r", "a", Int(1)))
		require.NoError(t, tx.Put("r2", "b", Int(2)))
		deleted, err := tx.Delete("r", "gone")
		require.NoError(t, err)
		require.True(t, deleted)
		// Reads see the transaction's own writes...
		got, ok, err := tx.Get("r", "a")
		require.NoError(t, err)
		require.True(t, ok)
		require.EqualValues(t, 1, must2(got.Value.AsInt()))
		require.Zero(t, got.Version, "uncommitted writes have no version yet")
		_, ok, err = tx.Get("r", "gone")
		require.NoError(t, err)
		require.False(t, ok)
		keys, err := tx.Keys("r", "", 0)
		require.NoError(t, err)
		require.Equal(t, []string{"a"}, keys)
		// ...while db methods see committed state only.
		absent(t, db, "r", "a")
		mustGet(t, db, "r", "gone")
		return nil
	})
	require.NoError(t, err)
	require.NotZero(t, v)
	require.Equal(t, v, mustGet(t, db, "r", "a").Version)
	require.Equal(t, v, mustGet(t, db, "r2", "b").Version)
	absent(t, db, "r", "gone")
	h, _ := db.History("r", "gone", 1, 0)
	require.Equal(t, v, h[0].Version)
}

func TestUpdateWithoutWritesOrWithError(t *testing.T) {
	db := openT(t, nil)
	mustPut(t, db, "r", "k", Int(1))
	before := db.LastVersion()
	v, err := db.Update(func(tx *Txn) error {
		_, _, err := tx.Get("r", "k")
		return err
	})
	require.NoError(t, err)
	require.Zero(t, v)

	boom := errors.New("boom")
	v, err = db.Update(func(tx *Txn) error {
		require.NoError(t, tx.Put("r", "k", Int(2)))
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Zero(t, v)
	require.Equal(t, before, db.LastVersion())
	require.EqualValues(t, 1, must2(mustGet(t, db, "r", "k").Value.AsInt()))

	// Put then Delete of a key absent before writes nothing.
	v, err = db.Update(func(tx *Txn) error {
		require.NoError(t, tx.Put("r", "tmp", Int(1)))
		deleted, err := tx.Delete("r", "tmp")
		require.True(t, deleted)
		return err
	})
	require.NoError(t, err)
	require.Zero(t, v)
	h, err := db.History("r", "tmp", 0, 0)
	require.NoError(t, err)
	require.Empty(t, h)

	// Invalid input fails at the call.
	_, err = db.Update(func(tx *Txn) error {
		require.ErrorIs(t, tx.Put("r", "", Int(1)), ErrInvalidKey)
		require.ErrorIs(t, tx.Put("", "k", Int(1)), ErrInvalidRun)
		require.ErrorIs(t, tx.Put("r", "k", nestedValue(129)), ErrInvalidValue)
		_, err := tx.Delete("r", "_strata/x")
		require.ErrorIs(t, err, ErrInvalidKey)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, before, db.LastVersion())
}

func TestUpdateConflicts(t *testing.T) {
	db := openT(t, nil)
	mustPut(t, db, "r", "x", Int(1))
	mustPut(t, db, "r", "p/1", Int(1))

	t.Run("read key changed", func(t *testing.T) {
		before := db.LastVersion()
		_, err := db.Update(func(tx *Txn) error {
			_, _, err := tx.Get("r", "x")
			require.NoError(t, err)
			mustPut(t, db, "r", "x", Int(2)) // a concurrent writer
			return tx.Put("r", "y", Int(1))
		})
		require.ErrorIs(t, err, ErrConflict)
		require.Equal(t, before+1, db.LastVersion(), "only the concurrent put landed")
		absent(t, db, "r", "y")
	})
	t.Run("absent key read then created", func(t *testing.T) {
		_, err := db.Update(func(tx *Txn) error {
			ok, err := tx.Exists("r", "new")
			require.NoError(t, err)
			require.False(t, ok)
			mustPut(t, db, "r", "new", Int(1))
			return tx.Put("r", "z", Int(1))
		})
		require.ErrorIs(t, err, ErrConflict)
	})
	t.Run("listed prefix changed", func(t *testing.T) {
		_, err := db.Update(func(tx *Txn) error {
			_, err := tx.Keys("r", "p/", 0)
			require.NoError(t, err)
			mustPut(t, db, "r", "p/2", Int(2)) // a phantom
			return tx.Put("r", "z", Int(1))
		})
		require.ErrorIs(t, err, ErrConflict)
		_, err = db.Update(func(tx *Txn) error {
			_, err := tx.Scan("r", "p/", 1, "")
			require.NoError(t, err)
			_, err = db.Delete("r", "p/1")
			require.NoError(t, err)
			return tx.Put("r", "z", Int(1))
		})
		require.ErrorIs(t, err, ErrConflict)
	})
	t.Run("change outside what was read does not conflict", func(t *testing.T) {
		v, err := db.Update(func(tx *Txn) error {
			_, _, err := tx.Get("r", "x")
			require.NoError(t, err)
			_, err = tx.Keys("r", "p/", 0)
			require.NoError(t, err)
			mustPut(t, db, "r", "q/1", Int(1))
			mustPut(t, db, "other", "x", Int(1))
			return tx.Put("r", "z", Int(7))
		})
		require.NoError(t, err)
		require.Equal(t, v, mustGet(t, db, "r", "z").Version)
	})
	t.Run("blind writes never conflict; the later commit wins", func(t *testing.T) {
		v, err := db.Update(func(tx *Txn) error {
			mustPut(t, db, "r", "blind", Int(1))
			return tx.Put("r", "blind", Int(2))
		})
		require.NoError(t, err)
		got := mustGet(t, db, "r", "blind")
		require.Equal(t, v, got.Version)
		require.EqualValues(t, 2, must2(got.Value.AsInt()))
	})
	t.Run("txn delete counts as a read", func(t *testing.T) {
		_, err := db.Update(func(tx *Txn) error {
			_, err := tx.Delete("r", "x")
			require.NoError(t, err)
			mustPut(t, db, "r", "x", Int(9))
			return nil
		})
		require.ErrorIs(t, err, ErrConflict)
		require.EqualValues(t, 9, must2(mustGet(t, db, "r", "x").Value.AsInt()))
	})
}

// Concurrent transfers between accounts keep the total constant: the
// classic serializability check. Conflicting Updates fail and are retried
// by the caller.
func TestConcurrentTransfersSerializable(t *testing.T) {
	db := openT(t, nil)
	const accounts = 5
	for i := 0; i < accounts; i++ {
		mustPut(t, db, "bank", fmt.Sprintf("acct%d", i), Int(100))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts, commits := 0, 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				from, to := fmt.Sprintf("acct%d", (g+i)%accounts), fmt.Sprintf("acct%d", (g+2*i+1)%accounts)
				if from == to {
					continue
				}
				for {
					_, err := db.Update(func(tx *Txn) error {
						a, _, err := tx.Get("bank", from)
						if err != nil {
							return err
						}
						b, _, err := tx.Get("bank", to)
						if err != nil {
							return err
						}
						if err := tx.Put("bank", from, Int(must2(a.Value.AsInt())-1)); err != nil {
							return err
						}
						return tx.Put("bank", to, Int(must2(b.Value.AsInt())+1))
					})
					mu.Lock()
					if errors.Is(err, ErrConflict) {
						conflicts++
						mu.Unlock()
						continue
					}
					commits++
					mu.Unlock()
					if err != nil {
						t.Error(err)
					}
					break
				}
			}
		}(g)
	}
	wg.Wait()
	total := int64(0)
	err := db.View(func(tx *Txn) error {
		page, err := tx.Scan("bank", "", 0, "")
		for _, e := range page.Entries {
			total += must2(e.Value.AsInt())
		}
		return err
	})
	require.NoError(t, err)
	require.EqualValues(t, accounts*100, total)
	t.Logf("%d commits, %d conflicts retried", commits, conflicts)
}

func TestViewAtTimeTravel(t *testing.T) {
	db := openT(t, nil)
	v1 := mustPut(t, db, "r", "a", Int(1))
	v2 := mustPut(t, db, "r", "b", Int(2))
	_, err := db.Delete("r", "a")
	require.NoError(t, err)
	v3 := db.LastVersion()
	v4 := mustPut(t, db, "r", "b", Int(20))

	type state struct {
		keys []string
		b    int64
	}
	read := func(at Version) state {
		var s state
		require.NoError(t, db.ViewAt(at, func(tx *Txn) error {
			keys, err := tx.Keys("r", "", 0)
			require.NoError(t, err)
			s.keys = keys
			if got, ok, err := tx.Get("r", "b"); err == nil && ok {
				s.b = must2(got.Value.AsInt())
			}
			page, err := tx.Scan("r", "", 0, "")
			require.NoError(t, err)
			require.Len(t, page.Entries, len(keys))
			return nil
		}))
		return s
	}
	require.Equal(t, state{keys: []string{}}, read(0), "at 0: the empty database")
	require.Equal(t, state{keys: []string{"a"}}, read(v1))
	require.Equal(t, state{keys: []string{"a", "b"}, b: 2}, read(v2))
	require.Equal(t, state{keys: []string{"b"}, b: 2}, read(v3))
	require.Equal(t, state{keys: []string{"b"}, b: 20}, read(v4))
	require.Equal(t, state{keys: []string{"b"}, b: 20}, read(v4+100), "above LastVersion: the latest")

	require.NoError(t, db.View(func(tx *Txn) error {
		require.ErrorIs(t, tx.Put("r", "x", Int(1)), ErrReadOnly)
		_, err := tx.Delete("r", "b")
		require.ErrorIs(t, err, ErrReadOnly)
		ok, err := tx.Exists("r", "b")
		require.NoError(t, err)
		require.True(t, ok)
		return nil
	}))
}

func TestSnapshotIsStable(t *testing.T) {
	db := openT(t, nil)
	mustPut(t, db, "r", "k", Int(1))
	require.NoError(t, db.View(func(tx *Txn) error {
		mustPut(t, db, "r", "k", Int(2))
		mustPut(t, db, "r", "k2", Int(2))
		got, _, err := tx.Get("r", "k")
		require.NoError(t, err)
		require.EqualValues(t, 1, must2(got.Value.AsInt()))
		keys, err := tx.Keys("r", "", 0)
		require.NoError(t, err)
		require.Equal(t, []string{"k"}, keys)
		return nil
	}))
}

func TestTxnUnusableAfterReturn(t *testing.T) {
	db := openT(t, nil)
	var saved *Txn
	_, err := db.Update(func(tx *Txn) error { saved = tx; return nil })
	require.NoError(t, err)
	require.ErrorIs(t, saved.Put("r", "k", Int(1)), ErrClosed)
	_, _, err = saved.Get("r", "k")
	require.ErrorIs(t, err, ErrClosed)
	_, err = saved.Keys("r", "", 0)
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, db.View(func(tx *Txn) error { saved = tx; return nil }))
	_, err = saved.Scan("r", "", 0, "")
	require.ErrorIs(t, err, ErrClosed)
}

func TestTxnScanMergesOwnWrites(t *testing.T) {
	db := openT(t, nil)
	for _, k := range []string{"a", "c", "e"} {
		mustPut(t, db, "r", k, String(k))
	}
	_, err := db.Update(func(tx *Txn) error {
		require.NoError(t, tx.Put("r", "b", String("B")))
		require.NoError(t, tx.Put("r", "c", String("C")))
		_, err := tx.Delete("r", "e")
		require.NoError(t, err)
		require.NoError(t, tx.Put("r", "f", String("F")))
		var got []string
		cursor := ""
		for {
			p, err := tx.Scan("r", "", 2, cursor)
			require.NoError(t, err)
			for _, e := range p.Entries {
				got = append(got, e.Key+"="+must2(e.Value.AsString()))
			}
			if p.Cursor == "" {
				break
			}
			cursor = p.Cursor
		}
		require.Equal(t, []string{"a=a", "b=B", "c=C", "f=F"}, got)
		return nil
	})
	require.NoError(t, err)
}

func TestNilTransactionFunction(t *testing.T) {
	db := openT(t, nil)
	_, err := db.Update(nil)
	require.Error(t, err)
	require.Error(t, db.View(nil))
	require.Error(t, db.ViewAt(1, nil))
}
