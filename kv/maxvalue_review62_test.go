package kv_test

import (
	"errors"
	"testing"

	"github.com/strata-kv/strata/kv"
)

func TestReview62MaxValueBytesBoundary(t *testing.T) {
	db, err := kv.Open("", &kv.Options{Durability: kv.InMemory, MaxValueBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Largest Bytes value accepted, found by probing Put itself.
	n := 0
	for ; n < 1100; n++ {
		if _, err := db.Put("r", "probe", kv.Bytes(make([]byte, n+1))); err != nil {
			if !errors.Is(err, kv.ErrInvalidValue) {
				t.Fatal(err)
			}
			break
		}
	}
	if n < 990 || n > 1000 {
		t.Fatalf("largest accepted zero-bytes value %d bytes, limit 1000 (compressed size counted?)", n)
	}
	lv := db.LastVersion()
	for name, v := range map[string]kv.Value{
		"bytes":  kv.Bytes(make([]byte, n+1)),
		"string": kv.String(string(make([]byte, n+1))),
		"array":  kv.Array(kv.Bytes(make([]byte, n+1))),
	} {
		if _, err := db.Put("r", "k", v); !errors.Is(err, kv.ErrInvalidValue) {
			t.Errorf("%s one past: %v", name, err)
		}
		if err := db.View(func(tx *kv.Txn) error { return nil }); err != nil {
			t.Fatal(err)
		}
		_, err := db.Update(func(tx *kv.Txn) error { return tx.Put("r", "k", v) })
		if !errors.Is(err, kv.ErrInvalidValue) {
			t.Errorf("%s txn one past: %v", name, err)
		}
	}
	if db.LastVersion() != lv {
		t.Error("refused values written")
	}
	// Huge arrays/objects of small items, over the limit in total.
	items := make([]kv.Value, 600)
	for i := range items {
		items[i] = kv.Int(int64(i))
	}
	if _, err := db.Put("r", "arr", kv.Array(items...)); !errors.Is(err, kv.ErrInvalidValue) {
		t.Errorf("huge array: %v", err)
	}
	fields := map[string]kv.Value{}
	for i := 0; i < 300; i++ {
		fields[string(rune('a'+i%26))+string(rune('A'+i/26))] = kv.Null()
	}
	if _, err := db.Put("r", "obj", kv.Object(fields)); !errors.Is(err, kv.ErrInvalidValue) {
		t.Errorf("huge object: %v", err)
	}
}
