package kv_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/strata-kv/strata/kv"
)

func r62mem(t *testing.T) *kv.DB {
	t.Helper()
	db, err := kv.Open("", &kv.Options{Durability: kv.InMemory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func r62deep(n int) kv.Value {
	v := kv.Int(1)
	for i := 0; i < n; i++ {
		v = kv.Array(v)
	}
	return v
}

func r62deepObj(n int) kv.Value {
	v := kv.Int(1)
	for i := 0; i < n; i++ {
		v = kv.Object(map[string]kv.Value{"x": v})
	}
	return v
}

// Every write path refuses each invalid run, key and value with the
// sentinel the contract names, and writes nothing.
func TestReview62InvalidInputsWriteNothing(t *testing.T) {
	db := r62mem(t)
	if _, err := db.Put("r", "seed", kv.Int(1)); err != nil {
		t.Fatal(err)
	}
	badKeys := map[string]string{
		"empty":     "",
		"long":      strings.Repeat("k", 1025),
		"nul":       "a\x00b",
		"utf8":      "a\xffb",
		"reserved":  "_strata/x",
		"surrogate": "\xed\xa0\x80",
	}
	badRuns := map[string]kv.RunID{
		"empty": "",
		"long":  kv.RunID(strings.Repeat("r", 257)),
		"nul":   "a\x00b",
	}
	badVals := map[string]kv.Value{
		"deep129":    r62deep(129),
		"deepObj129": r62deepObj(129),
		"mixed129":   kv.Object(map[string]kv.Value{"a": r62deep(128)}),
	}
	before := db.LastVersion()
	st0 := db.Stats()
	check := func(name string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
	}
	for n, k := range badKeys {
		_, err := db.Put("r", k, kv.Int(1))
		check("Put key "+n, err, kv.ErrInvalidKey)
		_, _, err = db.Get("r", k)
		check("Get key "+n, err, kv.ErrInvalidKey)
		_, err = db.GetAt("r", k, 1)
		check("GetAt key "+n, err, kv.ErrInvalidKey)
		_, err = db.Delete("r", k)
		check("Delete key "+n, err, kv.ErrInvalidKey)
		_, err = db.Exists("r", k)
		check("Exists key "+n, err, kv.ErrInvalidKey)
		_, err = db.History("r", k, 0, 0)
		check("History key "+n, err, kv.ErrInvalidKey)
		_, err = db.Incr("r", k, 1)
		check("Incr key "+n, err, kv.ErrInvalidKey)
		_, err = db.CompareAndSwapVersion("r", k, 0, kv.Int(1))
		check("CASV key "+n, err, kv.ErrInvalidKey)
		_, err = db.CompareAndSwapValue("r", k, nil, kv.Int(1))
		check("CASVal key "+n, err, kv.ErrInvalidKey)
		_, err = db.MGet("r", []string{"ok", k})
		check("MGet key "+n, err, kv.ErrInvalidKey)
		_, err = db.MPut("r", []kv.KeyValue{{Key: "ok", Value: kv.Int(1)}, {Key: k, Value: kv.Int(1)}})
		check("MPut key "+n, err, kv.ErrInvalidKey)
		_, err = db.MDelete("r", []string{"seed", k})
		check("MDelete key "+n, err, kv.ErrInvalidKey)
		_, err = db.MExists("r", []string{"seed", k})
		check("MExists key "+n, err, kv.ErrInvalidKey)
		if k != "" {
			_, err = db.Keys("r", k, 0)
			check("Keys prefix "+n, err, kv.ErrInvalidKey)
			_, err = db.Scan("r", k, 0, "")
			check("Scan prefix "+n, err, kv.ErrInvalidKey)
		}
		_, err = db.Update(func(tx *kv.Txn) error {
			if err := tx.Put("r", "ok", kv.Int(2)); err != nil {
				return err
			}
			return tx.Put("r", k, kv.Int(1))
		})
		check("Txn.Put key "+n, err, kv.ErrInvalidKey)
		_, err = db.Update(func(tx *kv.Txn) error {
			_, _, err := tx.Get("r", k)
			return err
		})
		check("Txn.Get key "+n, err, kv.ErrInvalidKey)
		_, err = db.Update(func(tx *kv.Txn) error {
			_, err := tx.Delete("r", k)
			return err
		})
		check("Txn.Delete key "+n, err, kv.ErrInvalidKey)
		err = db.View(func(tx *kv.Txn) error {
			_, err := tx.Exists("r", k)
			return err
		})
		check("Txn.Exists key "+n, err, kv.ErrInvalidKey)
	}
	for n, r := range badRuns {
		_, err := db.Put(r, "k", kv.Int(1))
		check("Put run "+n, err, kv.ErrInvalidRun)
		_, _, err = db.Get(r, "k")
		check("Get run "+n, err, kv.ErrInvalidRun)
		_, err = db.GetAt(r, "k", 1)
		check("GetAt run "+n, err, kv.ErrInvalidRun)
		_, err = db.Delete(r, "k")
		check("Delete run "+n, err, kv.ErrInvalidRun)
		_, err = db.History(r, "k", 0, 0)
		check("History run "+n, err, kv.ErrInvalidRun)
		_, err = db.Incr(r, "k", 1)
		check("Incr run "+n, err, kv.ErrInvalidRun)
		_, err = db.MPut(r, []kv.KeyValue{{Key: "k", Value: kv.Int(1)}})
		check("MPut run "+n, err, kv.ErrInvalidRun)
		_, err = db.MPut(r, nil)
		check("MPut(empty) run "+n, err, kv.ErrInvalidRun)
		_, err = db.MDelete(r, nil)
		check("MDelete(empty) run "+n, err, kv.ErrInvalidRun)
		_, err = db.Keys(r, "", 0)
		check("Keys run "+n, err, kv.ErrInvalidRun)
		_, err = db.Scan(r, "", 0, "")
		check("Scan run "+n, err, kv.ErrInvalidRun)
		_, err = db.Range(r, kv.RangeOptions{})
		check("Range run "+n, err, kv.ErrInvalidRun)
		_, err = db.Changes(r, "", 0, 0)
		check("Changes run "+n, err, kv.ErrInvalidRun)
		_, err = db.Diff(r, 0, 1)
		check("Diff run "+n, err, kv.ErrInvalidRun)
		_, err = db.DropRun(r)
		check("DropRun run "+n, err, kv.ErrInvalidRun)
		_, err = db.ForkRun(r, "dst", 0)
		check("ForkRun src "+n, err, kv.ErrInvalidRun)
		_, err = db.ForkRun("r", r, 0)
		check("ForkRun dst "+n, err, kv.ErrInvalidRun)
		_, err = db.Update(func(tx *kv.Txn) error { return tx.Put(r, "k", kv.Int(1)) })
		check("Txn.Put run "+n, err, kv.ErrInvalidRun)
		err = db.View(func(tx *kv.Txn) error { _, err := tx.Range(r, kv.RangeOptions{}); return err })
		check("Txn.Range run "+n, err, kv.ErrInvalidRun)
		err = db.View(func(tx *kv.Txn) error { _, err := tx.Keys(r, "", 0); return err })
		check("Txn.Keys run "+n, err, kv.ErrInvalidRun)
	}
	for n, v := range badVals {
		_, err := db.Put("r", "k", v)
		check("Put value "+n, err, kv.ErrInvalidValue)
		_, err = db.MPut("r", []kv.KeyValue{{Key: "a", Value: kv.Int(1)}, {Key: "k", Value: v}})
		check("MPut value "+n, err, kv.ErrInvalidValue)
		_, err = db.MPut("r", []kv.KeyValue{{Key: "k", Value: v}, {Key: "k", Value: kv.Int(1)}})
		check("MPut overwritten value "+n, err, kv.ErrInvalidValue)
		_, err = db.CompareAndSwapVersion("r", "k", 0, v)
		check("CASV value "+n, err, kv.ErrInvalidValue)
		_, err = db.CompareAndSwapValue("r", "k", nil, v)
		check("CASVal value "+n, err, kv.ErrInvalidValue)
		_, err = db.Update(func(tx *kv.Txn) error {
			tx.Put("r", "a", kv.Int(1))
			return tx.Put("r", "k", v)
		})
		check("Txn.Put value "+n, err, kv.ErrInvalidValue)
	}
	// Boundaries that must be accepted.
	okCases := []struct {
		run kv.RunID
		key string
		v   kv.Value
	}{
		{kv.RunID(strings.Repeat("r", 256)), "k", kv.Int(1)},
		{"r", strings.Repeat("k", 1024), kv.Int(1)},
		{"r", "_strata", kv.Int(1)},
		{"r", "_STRATA/x", kv.Int(1)},
		{"r", "x_strata/", kv.Int(1)},
		{"r", "deep128", r62deep(128)},
		{"r", "deepobj128", r62deepObj(128)},
		{"r", "é€😀", kv.Int(1)},
	}
	if db.LastVersion() != before {
		t.Fatalf("refused writes committed: LastVersion %d -> %d", before, db.LastVersion())
	}
	if st := db.Stats(); st.Commits != st0.Commits || st.Keys != st0.Keys || st.Versions != st0.Versions {
		t.Fatalf("refused writes changed stats: %+v -> %+v", st0, st)
	}
	for _, c := range okCases {
		if _, err := db.Put(c.run, c.key, c.v); err != nil {
			t.Errorf("Put(%q, %q) at a limit: %v", c.run[:min(len(c.run), 8)], c.key[:min(len(c.key), 12)], err)
			continue
		}
		got, ok, err := db.Get(c.run, c.key)
		if err != nil || !ok || !got.Value.Equal(c.v) {
			t.Errorf("Get at limit: %v %v %v", ok, err, got.Value.Kind())
		}
	}
}

// Values round-trip exactly: floats bit for bit, empties, Bytes vs Null.
func TestReview62RoundTrip(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	nanPayload := math.Float64frombits(0x7ff8_0000_dead_beef)
	negNaN := math.Float64frombits(0xfff0_0000_0000_0001) // signalling, negative
	vals := map[string]kv.Value{
		"nan":     kv.Float(nanPayload),
		"snan":    kv.Float(negNaN),
		"inf":     kv.Float(math.Inf(1)),
		"ninf":    kv.Float(math.Inf(-1)),
		"negzero": kv.Float(math.Copysign(0, -1)),
		"estr":    kv.String(""),
		"ebytes":  kv.Bytes(nil),
		"ebytes2": kv.Bytes([]byte{}),
		"earr":    kv.Array(),
		"eobj":    kv.Object(nil),
		"null":    kv.Null(),
		"zero":    {},
		"minint":  kv.Int(math.MinInt64),
		"badutf":  kv.String("\xff\x00"),
		"objkeys": kv.Object(map[string]kv.Value{"": kv.Null(), "\x00\xff": kv.Bytes([]byte{0})}),
		"nested":  kv.Array(kv.Array(), kv.Object(nil), kv.Bytes(nil), kv.String("")),
	}
	for k, v := range vals {
		if _, err := db.Put("r", k, v); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	checkAll := func(db *kv.DB, when string) {
		for k, v := range vals {
			got, ok, err := db.Get("r", k)
			if err != nil || !ok {
				t.Fatalf("%s %s: %v %v", when, k, ok, err)
			}
			if got.Value.Kind() != v.Kind() {
				t.Errorf("%s %s: kind %v, want %v", when, k, got.Value.Kind(), v.Kind())
			}
			if f, ok := v.AsFloat(); ok {
				g, _ := got.Value.AsFloat()
				if math.Float64bits(f) != math.Float64bits(g) {
					t.Errorf("%s %s: bits %x, want %x", when, k, math.Float64bits(g), math.Float64bits(f))
				}
			} else if !got.Value.Equal(v) {
				t.Errorf("%s %s: %v, want %v", when, k, got.Value, v)
			}
			if b, ok := got.Value.AsBytes(); v.Kind() == kv.KindBytes && (!ok || b == nil) {
				t.Errorf("%s %s: AsBytes %v %v", when, k, b, ok)
			}
			if v.Kind() != kv.KindNull && got.Value.Kind() == kv.KindNull {
				t.Errorf("%s %s: became Null", when, k)
			}
		}
	}
	checkAll(db, "before reopen")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = kv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkAll(db, "after reopen")
	// Equality rules.
	if kv.Int(1).Equal(kv.Float(1)) || kv.Bytes([]byte("a")).Equal(kv.String("a")) ||
		kv.Float(math.NaN()).Equal(kv.Float(math.NaN())) || !kv.Float(0).Equal(kv.Float(math.Copysign(0, -1))) ||
		!kv.Bytes(nil).Equal(kv.Bytes([]byte{})) || kv.Null().Equal(kv.Bytes(nil)) ||
		kv.Array().Equal(kv.Object(nil)) || kv.String("").Equal(kv.Null()) {
		t.Fatal("equality rules broken")
	}
}

// ReadOnly and InMemory preconditions of Open.
func TestReview62OpenPreconditions(t *testing.T) {
	if db, err := kv.Open(t.TempDir(), &kv.Options{Durability: kv.InMemory}); err == nil {
		db.Close()
		t.Error("InMemory with a dir opened")
	}
	for _, d := range []kv.Durability{kv.Buffered, kv.Strict} {
		if db, err := kv.Open("", &kv.Options{Durability: d}); err == nil {
			db.Close()
			t.Errorf("%v with empty dir opened", d)
		}
	}
	// A new directory (nested) is created.
	dir := t.TempDir() + "/a/b/c"
	db, err := kv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if db.LastVersion() != 0 {
		t.Fatal("new DB LastVersion != 0")
	}
	// Locked: second writer, and a reader, fail with ErrLocked.
	if _, err := kv.Open(dir, nil); !errors.Is(err, kv.ErrLocked) {
		t.Errorf("second writer: %v", err)
	}
	if _, err := kv.Open(dir, &kv.Options{ReadOnly: true}); !errors.Is(err, kv.ErrLocked) {
		t.Errorf("reader vs writer: %v", err)
	}
	db.Close()
	r1, err := kv.Open(dir, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := kv.Open(dir, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal("readers must share:", err)
	}
	if _, err := kv.Open(dir, nil); !errors.Is(err, kv.ErrLocked) {
		t.Errorf("writer vs reader: %v", err)
	}
	r1.Close()
	r2.Close()
	_ = context.Background
}
