package kv

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// History of a key forked twice pages with limit and before exactly as
// the whole History reads, across both fork points, live, after Compact
// and after reopen.
func TestReview64HistoryPagingAcrossForks(t *testing.T) {
	M := m64{t}
	dir := t.TempDir()
	opts := &Options{SegmentSize: 1024, CompactAt: -1}
	db := open64(t, dir, opts)
	defer func() { db.Close() }()
	for i := 0; i < 3; i++ {
		M.v(db.Put("a", "k", Int(int64(i))))
	}
	M.v(db.Put("b", "k", Int(100))) // b's previous life, not in b's History
	M.v(db.DropRun("b"))
	M.v(db.ForkRun("a", "b", 0))
	M.v(db.Put("a", "k", Int(3)))
	for i := 0; i < 2; i++ {
		M.v(db.Put("b", "k", Int(int64(10+i))))
	}
	M.v(db.ForkRun("b", "c", 0))
	M.v(db.Put("b", "k", Int(12)))
	for i := 0; i < 2; i++ {
		M.v(db.Put("c", "k", Int(int64(20+i))))
	}
	want := []string{}
	for _, x := range []int{21, 20, 11, 10, 2, 1, 0} {
		want = append(want, fmt.Sprint(x))
	}
	check := func(stage string) {
		t.Helper()
		var whole []string
		h, err := db.History("c", "k", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range h {
			whole = append(whole, x.Value.String())
		}
		if !slices.Equal(whole, want) {
			t.Errorf("%s: History(c,k) = %v, want %v", stage, whole, want)
		}
		for lim := 1; lim <= 3; lim++ {
			var paged []string
			before := Version(0)
			for i := 0; i < 20; i++ {
				p, err := db.History("c", "k", lim, before)
				if err != nil {
					t.Fatal(err)
				}
				if len(p) == 0 {
					break
				}
				for _, x := range p {
					paged = append(paged, x.Value.String())
				}
				before = p[len(p)-1].Version
			}
			if !slices.Equal(paged, want) {
				t.Errorf("%s: History(c,k) paged by %d = %v, want %v", stage, lim, paged, want)
			}
		}
	}
	check("live")
	if _, err := db.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("compact")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open64(t, dir, opts)
	check("reopen")
}
