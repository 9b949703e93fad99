package kv_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/strata-kv/strata/kv"
)

func TestReview62Txn(t *testing.T) {
	db := r62mem(t)
	db.Put("r", "a", kv.Int(1))
	db.Put("r", "b", kv.Int(2))
	// Read-your-writes, db inside fn sees committed state.
	calls := 0
	v, err := db.Update(func(tx *kv.Txn) error {
		calls++
		if err := tx.Put("r", "c", kv.Int(3)); err != nil {
			return err
		}
		if ok, _ := tx.Delete("r", "a"); !ok {
			return fmt.Errorf("delete a: not live")
		}
		got, ok, _ := tx.Get("r", "c")
		if !ok || !got.Value.Equal(kv.Int(3)) {
			return fmt.Errorf("own write invisible")
		}
		if _, ok, _ := tx.Get("r", "a"); ok {
			return fmt.Errorf("own delete invisible")
		}
		if ks, _ := tx.Keys("r", "", 0); fmt.Sprint(ks) != "[b c]" {
			return fmt.Errorf("tx keys %v", ks)
		}
		p, _ := tx.Scan("r", "", 0, "")
		if len(p.Entries) != 2 || p.Cursor != "" {
			return fmt.Errorf("tx scan %v", p)
		}
		if _, ok, _ := db.Get("r", "c"); ok {
			return fmt.Errorf("db sees tx write")
		}
		if _, ok, _ := db.Get("r", "a"); !ok {
			return fmt.Errorf("db sees tx delete")
		}
		return nil
	})
	if err != nil || calls != 1 {
		t.Fatalf("update: %v calls %d", err, calls)
	}
	c, _, _ := db.Get("r", "c")
	h, _ := db.History("r", "a", 1, 0)
	if c.Version != v || h[0].Version != v || !h[0].Deleted || !c.Timestamp.Equal(h[0].Timestamp) {
		t.Fatalf("txn not one version: %v %v %v", v, c, h[0])
	}
	// fn error: returned as is, nothing written.
	myErr := errors.New("mine")
	lv := db.LastVersion()
	if _, err := db.Update(func(tx *kv.Txn) error { tx.Put("r", "x", kv.Int(1)); return myErr }); err != myErr {
		t.Fatalf("fn error: %v", err)
	}
	if db.LastVersion() != lv {
		t.Fatal("fn error wrote")
	}
	// No writes: (0, nil).
	if v, err := db.Update(func(tx *kv.Txn) error { tx.Get("r", "b"); return nil }); v != 0 || err != nil {
		t.Fatalf("read-only update: %v %v", v, err)
	}
	if v, err := db.Update(func(tx *kv.Txn) error { ok, _ := tx.Delete("r", "never"); _ = ok; return nil }); v != 0 || err != nil {
		t.Fatalf("delete-absent update: %v %v", v, err)
	}
	if v, err := db.Update(func(tx *kv.Txn) error { tx.Put("r", "tmp", kv.Int(1)); tx.Delete("r", "tmp"); return nil }); err != nil || db.LastVersion() != lv {
		t.Fatalf("put+delete update: %v %v lv %d->%d", v, err, lv, db.LastVersion())
	}
	// Conflict on a read key.
	lv = db.LastVersion()
	_, err = db.Update(func(tx *kv.Txn) error {
		tx.Get("r", "b")
		db.Put("r", "b", kv.Int(20))
		return tx.Put("r", "out", kv.Int(1))
	})
	if !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("read conflict: %v", err)
	}
	if _, ok, _ := db.Get("r", "out"); ok {
		t.Fatal("conflicted txn wrote")
	}
	// Conflict on a key read absent, inserted concurrently.
	_, err = db.Update(func(tx *kv.Txn) error {
		tx.Exists("r", "new")
		db.Put("r", "new", kv.Int(1))
		return tx.Put("r", "out", kv.Int(1))
	})
	if !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("phantom key conflict: %v", err)
	}
	// Conflict on a listed prefix.
	_, err = db.Update(func(tx *kv.Txn) error {
		tx.Keys("r", "p/", 0)
		db.Put("r", "p/1", kv.Int(1))
		return tx.Put("r", "out", kv.Int(1))
	})
	if !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("prefix conflict: %v", err)
	}
	// No conflict: a write outside the prefix; blind write.
	_, err = db.Update(func(tx *kv.Txn) error {
		tx.Keys("r", "p/", 0)
		db.Put("r", "q", kv.Int(1))
		db.Put("r", "blind", kv.Int(1))
		return tx.Put("r", "blind", kv.Int(2))
	})
	if err != nil {
		t.Fatalf("spurious conflict: %v", err)
	}
	if g, _, _ := db.Get("r", "blind"); !g.Value.Equal(kv.Int(2)) {
		t.Fatal("later commit did not win")
	}
	// Conflict when a read key is deleted concurrently.
	_, err = db.Update(func(tx *kv.Txn) error {
		tx.Get("r", "q")
		db.Delete("r", "q")
		return tx.Put("r", "out", kv.Int(1))
	})
	if !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("delete conflict: %v", err)
	}
	// Range conflict by insert into the covered interval.
	_, err = db.Update(func(tx *kv.Txn) error {
		tx.Range("r", kv.RangeOptions{Start: "m", End: "n"})
		db.Put("r", "m5", kv.Int(1))
		return tx.Put("r", "out", kv.Int(1))
	})
	if !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("range conflict: %v", err)
	}
	// View/ViewAt are read-only.
	for _, f := range []func(func(*kv.Txn) error) error{db.View, func(fn func(*kv.Txn) error) error { return db.ViewAt(1, fn) }} {
		err := f(func(tx *kv.Txn) error {
			if err := tx.Put("r", "k", kv.Int(1)); !errors.Is(err, kv.ErrReadOnly) {
				return fmt.Errorf("put: %v", err)
			}
			if _, err := tx.Delete("r", "b"); !errors.Is(err, kv.ErrReadOnly) {
				return fmt.Errorf("delete: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// ViewAt 0 is empty, a future version is the latest; snapshot sees one point.
	err = db.ViewAt(0, func(tx *kv.Txn) error {
		ks, err := tx.Keys("r", "", 0)
		if err != nil || len(ks) != 0 {
			return fmt.Errorf("ViewAt 0 keys %v %v", ks, err)
		}
		if _, ok, err := tx.Get("r", "b"); ok || err != nil {
			return fmt.Errorf("ViewAt 0 get %v %v", ok, err)
		}
		p, err := tx.Range("r", kv.RangeOptions{})
		if err != nil || len(p.Entries) != 0 {
			return fmt.Errorf("ViewAt 0 range %v %v", p, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := db.Keys("r", "", 0)
	err = db.ViewAt(math.MaxUint64, func(tx *kv.Txn) error {
		ks, _ := tx.Keys("r", "", 0)
		if fmt.Sprint(ks) != fmt.Sprint(want) {
			return fmt.Errorf("ViewAt max: %v want %v", ks, want)
		}
		db.Put("r", "late", kv.Int(1))
		if _, ok, _ := tx.Get("r", "late"); ok {
			return fmt.Errorf("ViewAt max saw a later commit")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	va := db.LastVersion()
	db.Put("r", "b", kv.Int(99))
	db.Delete("r", "late")
	err = db.ViewAt(va, func(tx *kv.Txn) error {
		g, ok, _ := tx.Get("r", "late")
		if !ok || g.Version != va {
			return fmt.Errorf("ViewAt late %v %v", g, ok)
		}
		g, _, _ = tx.Get("r", "b")
		if g.Value.Equal(kv.Int(99)) {
			return fmt.Errorf("ViewAt saw future b")
		}
		p, _ := tx.Scan("r", "", 0, "")
		for _, e := range p.Entries {
			if e.Version > va {
				return fmt.Errorf("ViewAt scan saw %v", e)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nil fn.
	if _, err := db.Update(nil); err == nil {
		t.Error("Update(nil)")
	}
}
