package kv

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// A fork at a version compaction trimmed fails with ErrHistoryTrimmed,
// rather than make dst a copy with keys missing or wrong; a fork at a
// version retention keeps reads as the source did.
func TestReview64ForkAtTrimmedVersion(t *testing.T) {
	M := m64{t}
	dir := t.TempDir()
	opts := &Options{SegmentSize: 4096, CompactAt: -1, Retention: Retention{KeepVersions: 1}}
	db := open64(t, dir, opts)
	defer func() { db.Close() }()
	v1 := M.v(db.Put("s", "k", String("k1")))
	v2 := M.v(db.Put("s", "g", String("g1")))
	M.v(db.Put("s", "k", String("k2")))
	if _, err := db.Delete("s", "g"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ { // seal what came before
		M.v(db.Put("pad", fmt.Sprintf("p%d", i), String(string(make([]byte, 200)))))
	}
	if _, err := db.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, at := range []Version{v1, v2} {
		for pass := 0; pass < 2; pass++ {
			v, err := db.ForkRun("s", RunID(fmt.Sprintf("d%d", at)), at)
			if !errors.Is(err, ErrHistoryTrimmed) {
				ks, _ := db.Keys(RunID(fmt.Sprintf("d%d", at)), "", 0)
				t.Errorf("pass %d: ForkRun at trimmed version %d: (%d, %v), want ErrHistoryTrimmed; dst keys %v", pass, at, v, err, ks)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = open64(t, dir, opts)
		}
	}
}

// A fork of a fork at a version below the middle run's own fork, under
// retention: what the grandchild reads stays, after Compact and reopen.
func TestReview64ForkOfForkPinsUnderRetention(t *testing.T) {
	M := m64{t}
	dir := t.TempDir()
	opts := &Options{SegmentSize: 4096, CompactAt: -1, Retention: Retention{KeepVersions: 1}}
	db := open64(t, dir, opts)
	defer func() { db.Close() }()
	M.v(db.Put("a", "k", String("a1")))
	b1 := M.v(db.Put("b", "k", String("b1")))
	M.v(db.Put("b", "x", String("bx")))
	M.v(db.DropRun("b"))
	M.v(db.ForkRun("a", "b", 0))  // b.k -> a1
	M.v(db.ForkRun("b", "c", b1)) // c.k -> b's own b1 (below b's link)
	M.v(db.Put("a", "k", String("a2")))
	M.v(db.Put("b", "k", String("b2")))
	want := map[string]string{"a/k": `"a2"`, "b/k": `"b2"`, "b/x": "-", "c/k": `"b1"`, "c/x": "-"}
	check := func(stage string) {
		t.Helper()
		for rk, w := range want {
			run, key := rk[:1], rk[2:]
			if g := get64(t, db, RunID(run), key); g != w {
				t.Errorf("%s: %s = %s, want %s", stage, rk, g, w)
			}
		}
		if h := hist64(t, db, "c", "k"); len(h) != 1 || h[0] != fmt.Sprintf(`%d:"b1"`, b1) {
			t.Errorf("%s: History(c,k) = %v", stage, h)
		}
	}
	check("live")
	for i := 0; i < 50; i++ {
		M.v(db.Put("pad", fmt.Sprintf("p%d", i), String(string(make([]byte, 200)))))
	}
	for round := 0; round < 2; round++ {
		if _, err := db.Compact(context.Background()); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprint("compact ", round))
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = open64(t, dir, opts)
		check(fmt.Sprint("reopen ", round))
		M.v(db.Put("b", "k", String(fmt.Sprint("b3", round))))
		want["b/k"] = fmt.Sprintf(`"b3%d"`, round)
		for i := 0; i < 50; i++ {
			M.v(db.Put("pad", fmt.Sprintf("p%d", i), String(string(make([]byte, 200)))))
		}
	}
}
