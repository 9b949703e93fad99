package kv_test

import (
	"testing"

	"github.com/strata-kv/strata/kv"
)

// A ReadOnly Open of a directory another DB wrote and closed (a
// checkpoint here, which holds no LOCK file) must not write to it:
// API.md: "ReadOnly bool // open without writing".
func TestReview62ReadOnlyOpenCreatesNoFile(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir+"/src", nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Put("r", "k", kv.Int(1))
	cp := dir + "/cp"
	if _, err := db.Checkpoint(cp); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := r62snapshot(t, cp)
	ro, err := kv.Open(cp, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if g, ok, err := ro.Get("r", "k"); !ok || err != nil || !g.Value.Equal(kv.Int(1)) {
		t.Fatalf("Get: %v %v %v", g, ok, err)
	}
	ro.Close()
	r62diff(t, before, r62snapshot(t, cp))
}
