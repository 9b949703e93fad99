package kv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/strata-kv/strata/kv"
)

func TestReview62ScanPaging(t *testing.T) {
	db := r62mem(t)
	var kvs []kv.KeyValue
	for i := 0; i < 250; i++ {
		kvs = append(kvs, kv.KeyValue{Key: fmt.Sprintf("k%03d", i), Value: kv.Int(int64(i))})
	}
	db.MPut("r", kvs)
	p, err := db.Scan("r", "", 0, "")
	if err != nil || len(p.Entries) != 100 || p.Cursor == "" {
		t.Fatalf("default page: %d %q %v", len(p.Entries), p.Cursor, err)
	}
	if p, _ := db.Scan("r", "k", 250, ""); len(p.Entries) != 250 || p.Cursor != "" {
		t.Fatalf("exact full page: %d %q", len(p.Entries), p.Cursor)
	}
	if ks, _ := db.Keys("r", "", -1); len(ks) != 250 {
		t.Fatalf("Keys no limit: %d", len(ks))
	}
	// Paging while other keys change: every key live throughout exactly once.
	seen := map[string]int{}
	cur := ""
	i := 0
	for {
		p, err := db.Scan("r", "k", 7, cur)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			seen[e.Key]++
		}
		// churn: delete and re-add odd keys ahead, insert new ones
		db.Put("r", fmt.Sprintf("k%03d-x%d", i*3, i), kv.Int(1))
		db.Delete("r", fmt.Sprintf("k%03d-x%d", i*3-3, i-1))
		i++
		if p.Cursor == "" {
			break
		}
		cur = p.Cursor
	}
	for _, e := range kvs {
		if seen[e.Key] != 1 {
			t.Errorf("%s seen %d times", e.Key, seen[e.Key])
		}
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", k, n)
		}
	}
	// Cursors bound to run and prefix.
	p, _ = db.Scan("r", "k", 5, "")
	if _, err := db.Scan("r", "k0", 5, p.Cursor); !errors.Is(err, kv.ErrInvalidKey) {
		t.Errorf("cursor other prefix: %v", err)
	}
	if _, err := db.Scan("s", "k", 5, p.Cursor); !errors.Is(err, kv.ErrInvalidKey) {
		t.Errorf("cursor other run: %v", err)
	}
	if _, err := db.Scan("r", "k", 5, "garbage!"); !errors.Is(err, kv.ErrInvalidKey) {
		t.Errorf("garbage cursor: %v", err)
	}
	rp, _ := db.Range("r", kv.RangeOptions{Limit: 5})
	if _, err := db.Scan("r", "", 5, rp.Cursor); !errors.Is(err, kv.ErrInvalidKey) {
		t.Errorf("Range cursor to Scan: %v", err)
	}
	// Range reverse paging covers all exactly once.
	var got []string
	ro := kv.RangeOptions{Start: "k010", End: "k020", Reverse: true, Limit: 3}
	for {
		p, err := db.Range("r", ro)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			got = append(got, e.Key)
		}
		if p.Cursor == "" {
			break
		}
		ro.Cursor = p.Cursor
	}
	if len(got) != 10 || got[0] != "k019" || got[9] != "k010" {
		t.Errorf("reverse range: %v", got)
	}
}

func TestReview62ChangesFeed(t *testing.T) {
	db := r62mem(t)
	var kvs []kv.KeyValue
	for i := 0; i < 150; i++ {
		kvs = append(kvs, kv.KeyValue{Key: fmt.Sprintf("k%03d", i), Value: kv.Int(int64(i))})
	}
	db.Put("r", "first", kv.Int(1))
	db.MPut("r", kvs)
	db.Put("other", "x", kv.Int(1))
	db.Delete("r", "first")
	var all []kv.Change
	var after kv.Version
	for {
		ch, err := db.Changes("r", "", after, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch) == 0 {
			break
		}
		for i := 1; i < len(ch); i++ {
			if ch[i].Version < ch[i-1].Version {
				t.Fatal("not oldest first")
			}
		}
		all = append(all, ch...)
		after = ch[len(ch)-1].Version
	}
	if len(all) != 152 {
		t.Fatalf("feed lost changes: %d of 152", len(all))
	}
	if !all[151].Deleted || all[151].Key != "first" {
		t.Errorf("last change %v", all[151])
	}
	// WaitFor.
	if err := db.WaitFor(context.Background(), db.LastVersion()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := db.WaitFor(ctx, db.LastVersion()+1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor future: %v", err)
	}
	done := make(chan error)
	target := db.LastVersion() + 1
	go func() { done <- db.WaitFor(context.Background(), target) }()
	db.Put("r", "z", kv.Int(1))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// API.md: Changes returns "at most limit (<= 0: 100)", except (the doc
// comment, and the README's limits) that a commit is never split, since
// the next page starts after a version: a commit of 150 keys comes whole
// (review 62 found the exception undocumented in the README); pages of
// single-key commits keep to the limit.
func TestReview62ChangesAtMostLimit(t *testing.T) {
	db := r62mem(t)
	var kvs []kv.KeyValue
	for i := 0; i < 150; i++ {
		kvs = append(kvs, kv.KeyValue{Key: fmt.Sprintf("k%03d", i), Value: kv.Int(int64(i))})
	}
	if _, err := db.MPut("r", kvs); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 150; i++ {
		if _, err := db.Put("r", "single", kv.Int(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := db.Changes("r", "", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 150 {
		t.Errorf("Changes(limit 10) over a commit of 150 keys returned %d changes, want the commit whole", len(ch))
	}
	ch, err = db.Changes("r", "", ch[len(ch)-1].Version, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 100 {
		t.Errorf("Changes(limit<=0) over single-key commits returned %d changes, want 100", len(ch))
	}
}

func TestReview62RunsForkCheckpoint(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Put("b", "k", kv.Int(1))
	db.Put("a", "k", kv.Int(1))
	db.Put("c", "k", kv.Int(1))
	db.Delete("c", "k")
	if rs, _ := db.Runs(); fmt.Sprint(rs) != "[a b]" {
		t.Errorf("Runs %v", rs)
	}
	if v, err := db.DropRun("c"); v != 0 || err != nil {
		t.Errorf("DropRun empty: %v %v", v, err)
	}
	if v, err := db.DropRun("nope"); v != 0 || err != nil {
		t.Errorf("DropRun unknown: %v %v", v, err)
	}
	v1 := db.LastVersion()
	db.Put("a", "k", kv.Int(2))
	db.Put("a", "j", kv.Int(3))
	fv, err := db.ForkRun("a", "f", v1)
	if err != nil || fv == 0 {
		t.Fatal(fv, err)
	}
	if g, _, _ := db.Get("f", "k"); !g.Value.Equal(kv.Int(1)) {
		t.Errorf("fork at v1: %v", g)
	}
	if _, ok, _ := db.Get("f", "j"); ok {
		t.Errorf("fork saw later key")
	}
	if _, err := db.ForkRun("a", "f", 0); !errors.Is(err, kv.ErrInvalidRun) {
		t.Errorf("fork into live run: %v", err)
	}
	db.Put("f", "k", kv.Int(9))
	if g, _, _ := db.Get("a", "k"); !g.Value.Equal(kv.Int(2)) {
		t.Errorf("fork write leaked: %v", g)
	}
	h, _ := db.History("f", "k", 0, 0)
	if len(h) != 2 || !h[0].Value.Equal(kv.Int(9)) || !h[1].Value.Equal(kv.Int(1)) {
		t.Errorf("fork history %v", h)
	}
	dv, err := db.DropRun("a")
	if err != nil || dv == 0 {
		t.Fatal(dv, err)
	}
	if ks, _ := db.Keys("a", "", 0); len(ks) != 0 {
		t.Errorf("after drop: %v", ks)
	}
	if g, _, _ := db.Get("f", "k"); !g.Value.Equal(kv.Int(9)) {
		t.Errorf("drop leaked into fork")
	}
	// Checkpoint.
	cp := dir + "-cp"
	exist := t.TempDir()
	if _, err := db.Checkpoint(exist); err == nil {
		t.Errorf("Checkpoint into existing dir succeeded")
	}
	cv, err := db.Checkpoint(cp)
	if err != nil || cv != db.LastVersion() {
		t.Fatal(cv, err)
	}
	db.Put("b", "after", kv.Int(1))
	c, err := kv.Open(cp, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.LastVersion() != cv {
		t.Errorf("checkpoint LastVersion %d want %d", c.LastVersion(), cv)
	}
	if _, ok, _ := c.Get("b", "after"); ok {
		t.Error("checkpoint saw later write")
	}
	if g, _, _ := c.Get("f", "k"); !g.Value.Equal(kv.Int(9)) {
		t.Error("checkpoint lost fork")
	}
	c.Close()
	os.RemoveAll(cp)
}
