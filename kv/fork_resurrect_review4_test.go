package kv_test

import (
	"context"
	"errors"
	"testing"

	"github.com/strata-kv/strata/kv"
)

func reopenR4(t *testing.T, db *kv.DB, dir string, opts *kv.Options) *kv.DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := kv.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// A forked key deleted in dst: compaction drops the deletion's entry
// with the link below it; Open adds the link again from the fork event
// and the deleted key comes back with src's value.
func TestForkDeletedKeyResurrectsAfterCompactReopen_review4(t *testing.T) {
	dir := t.TempDir()
	opts := &kv.Options{Retention: kv.Retention{KeepVersions: 1}, CompactAt: -1}
	db, err := kv.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	if _, err := db.Put("src", "k", kv.Int(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ForkRun("src", "dst", 0); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.Delete("dst", "k"); err != nil || !ok {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	if _, err := db.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Get("dst", "k"); ok {
		t.Fatal("dst/k live after Compact")
	}
	db = reopenR4(t, db, dir, opts)
	if v, ok, err := db.Get("dst", "k"); err != nil || ok {
		t.Fatalf("after Compact and reopen, Get(dst, k) = %v, %v, %v; want absent (it was deleted)", v, ok, err)
	}
}

// A forked key written twice more in dst: compaction drops the first
// write with the link; Open adds the link again below the kept write, so
// a read in the gap answers with src's value instead of the dropped
// write's (or ErrHistoryTrimmed).
func TestForkLinkReaddedBelowKeptVersion_review4(t *testing.T) {
	dir := t.TempDir()
	opts := &kv.Options{Retention: kv.Retention{KeepVersions: 2}, CompactAt: -1}
	db, err := kv.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	mustPutR4 := func(run kv.RunID, k string, n int64) kv.Version {
		v, err := db.Put(run, k, kv.Int(n))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	mustPutR4("src", "k", 1)
	if _, err := db.ForkRun("src", "dst", 0); err != nil {
		t.Fatal(err)
	}
	v2 := mustPutR4("dst", "k", 2)
	mustPutR4("dst", "k", 3)
	mustPutR4("dst", "k", 4)
	if _, err := db.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		got, err := db.GetAt("dst", "k", v2)
		if errors.Is(err, kv.ErrHistoryTrimmed) {
			return
		}
		n, _ := got.Value.AsInt()
		if err != nil || n != 2 {
			t.Fatalf("%s: GetAt(dst, k, %d) = %d (version %d), %v; want 2 or ErrHistoryTrimmed", when, v2, n, got.Version, err)
		}
	}
	check("after Compact")
	mustPutR4("dst", "k", 5)
	db = reopenR4(t, db, dir, opts)
	check("after reopen")
}
