package kv_test

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/strata-kv/strata/kv"
)

func TestReview62VersionsAndBatches(t *testing.T) {
	db := r62mem(t)
	v1, err := db.MPut("r", []kv.KeyValue{{Key: "a", Value: kv.Int(1)}, {Key: "b", Value: kv.Int(2)}, {Key: "a", Value: kv.Int(3)}})
	if err != nil || v1 == 0 {
		t.Fatal(v1, err)
	}
	a, _, _ := db.Get("r", "a")
	b, _, _ := db.Get("r", "b")
	if a.Version != v1 || b.Version != v1 || !a.Timestamp.Equal(b.Timestamp) {
		t.Errorf("batch entries differ: %v %v", a, b)
	}
	if x, _ := a.Value.AsInt(); x != 3 {
		t.Errorf("duplicate key kept %v", a.Value)
	}
	if h, _ := db.History("r", "a", 0, 0); len(h) != 1 {
		t.Errorf("duplicate key in batch wrote %d versions", len(h))
	}
	if a.Timestamp.Location().String() != "UTC" || a.Timestamp.Nanosecond()%1000 != 0 {
		t.Errorf("timestamp not UTC µs: %v", a.Timestamp)
	}
	if v, err := db.MPut("r", nil); v != 0 || err != nil {
		t.Errorf("empty MPut: %v %v", v, err)
	}
	if v, err := db.MPut("r", []kv.KeyValue{}); v != 0 || err != nil {
		t.Errorf("empty MPut: %v %v", v, err)
	}
	if db.LastVersion() != v1 {
		t.Errorf("empty MPut moved LastVersion")
	}
	// MDelete counts distinct live keys, writes nothing if none.
	n, err := db.MDelete("r", []string{"a", "a", "zz", "b"})
	if n != 2 || err != nil {
		t.Errorf("MDelete: %d %v", n, err)
	}
	lv := db.LastVersion()
	if n, err := db.MDelete("r", []string{"a", "zz"}); n != 0 || err != nil || db.LastVersion() != lv {
		t.Errorf("MDelete of absent: %d %v, lv %d->%d", n, err, lv, db.LastVersion())
	}
	if ok, err := db.Delete("r", "a"); ok || err != nil || db.LastVersion() != lv {
		t.Errorf("Delete of deleted: %v %v", ok, err)
	}
	db.MPut("r", []kv.KeyValue{{Key: "x", Value: kv.Int(1)}, {Key: "y", Value: kv.Int(1)}})
	if n, _ := db.MExists("r", []string{"x", "x", "y", "a", "nope"}); n != 2 {
		t.Errorf("MExists = %d, want 2", n)
	}
	got, err := db.MGet("r", []string{"x", "a", "nope", "y", "x"})
	if err != nil || len(got) != 5 || got[0] == nil || got[1] != nil || got[2] != nil || got[3] == nil || got[4] == nil {
		t.Errorf("MGet: %v %v", got, err)
	}
	if got, err := db.MGet("r", nil); err != nil || len(got) != 0 {
		t.Errorf("MGet(nil): %v %v", got, err)
	}
	// Versions strictly increase.
	var last kv.Version
	for i := 0; i < 20; i++ {
		v, err := db.Put("r", "k", kv.Int(int64(i)))
		if err != nil || v <= last {
			t.Fatalf("version %d after %d", v, last)
		}
		last = v
	}
	if db.LastVersion() != last || db.Stats().LastVersion != last {
		t.Errorf("LastVersion %d/%d, want %d", db.LastVersion(), db.Stats().LastVersion, last)
	}
}

func TestReview62IncrCAS(t *testing.T) {
	db := r62mem(t)
	if n, err := db.Incr("r", "c", 5); n != 5 || err != nil {
		t.Fatalf("Incr new: %d %v", n, err)
	}
	db.Delete("r", "c")
	if n, err := db.Incr("r", "c", -2); n != -2 || err != nil {
		t.Fatalf("Incr deleted: %d %v", n, err)
	}
	db.Put("r", "f", kv.Float(1))
	db.Put("r", "s", kv.String("1"))
	db.Put("r", "null", kv.Null())
	db.Put("r", "max", kv.Int(math.MaxInt64))
	db.Put("r", "min", kv.Int(math.MinInt64))
	lv := db.LastVersion()
	for _, k := range []string{"f", "s", "null"} {
		if _, err := db.Incr("r", k, 1); !errors.Is(err, kv.ErrWrongType) {
			t.Errorf("Incr %s: %v", k, err)
		}
	}
	if _, err := db.Incr("r", "max", 1); !errors.Is(err, kv.ErrOverflow) {
		t.Errorf("overflow: %v", err)
	}
	if _, err := db.Incr("r", "min", -1); !errors.Is(err, kv.ErrOverflow) {
		t.Errorf("underflow: %v", err)
	}
	if _, err := db.Incr("r", "fresh", math.MinInt64); err != nil {
		t.Errorf("Incr MinInt64 from 0: %v", err)
	}
	if n, err := db.Incr("r", "max", 0); n != math.MaxInt64 || err != nil {
		t.Errorf("Incr 0: %v %v", n, err)
	}
	lv += 2 // fresh, and max+0 (may or may not write)
	if db.LastVersion() > lv {
		t.Errorf("failed Incr wrote: %d > %d", db.LastVersion(), lv)
	}
	// Concurrency.
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := db.Incr("r", "cnt", 1); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if v, _, _ := db.Get("r", "cnt"); !v.Value.Equal(kv.Int(400)) {
		t.Errorf("cnt = %v", v.Value)
	}
	// CAS by version.
	if ok, err := db.CompareAndSwapVersion("r", "n", 0, kv.Int(1)); !ok || err != nil {
		t.Fatalf("CASV absent: %v %v", ok, err)
	}
	if ok, _ := db.CompareAndSwapVersion("r", "n", 0, kv.Int(2)); ok {
		t.Fatal("CASV 0 on live key")
	}
	cur, _, _ := db.Get("r", "n")
	if ok, _ := db.CompareAndSwapVersion("r", "n", cur.Version+1, kv.Int(2)); ok {
		t.Fatal("CASV wrong version")
	}
	if ok, _ := db.CompareAndSwapVersion("r", "n", cur.Version, kv.Int(2)); !ok {
		t.Fatal("CASV right version")
	}
	db.Delete("r", "n")
	h, _ := db.History("r", "n", 1, 0)
	if ok, _ := db.CompareAndSwapVersion("r", "n", h[0].Version, kv.Int(3)); ok {
		t.Fatal("CASV matched a tombstone's version")
	}
	if ok, _ := db.CompareAndSwapVersion("r", "n", 0, kv.Int(3)); !ok {
		t.Fatal("CASV 0 on deleted key")
	}
	// CAS by value.
	one := kv.Int(1)
	if ok, _ := db.CompareAndSwapValue("r", "v", &one, kv.Int(2)); ok {
		t.Fatal("CASVal on absent with non-nil expected")
	}
	null := kv.Null()
	if ok, _ := db.CompareAndSwapValue("r", "v", &null, kv.Int(2)); ok {
		t.Fatal("CASVal Null matched absent")
	}
	if ok, _ := db.CompareAndSwapValue("r", "v", nil, kv.Float(math.NaN())); !ok {
		t.Fatal("CASVal nil on absent")
	}
	nan := kv.Float(math.NaN())
	if ok, _ := db.CompareAndSwapValue("r", "v", &nan, kv.Int(1)); ok {
		t.Fatal("NaN matched")
	}
	db.Put("r", "z", kv.Float(0))
	nz := kv.Float(math.Copysign(0, -1))
	if ok, _ := db.CompareAndSwapValue("r", "z", &nz, kv.Int(1)); !ok {
		t.Fatal("-0 vs 0")
	}
	db.Put("r", "i", kv.Int(1))
	f1 := kv.Float(1)
	if ok, _ := db.CompareAndSwapValue("r", "i", &f1, kv.Int(2)); ok {
		t.Fatal("Float(1) matched Int(1)")
	}
	lv = db.LastVersion()
	db.CompareAndSwapValue("r", "i", &f1, kv.Int(2))
	db.CompareAndSwapVersion("r", "i", 12345, kv.Int(2))
	if db.LastVersion() != lv {
		t.Fatal("failed CAS wrote")
	}
	// Concurrent CAS: exactly one winner per round.
	db.Put("r", "race", kv.Int(0))
	for round := 0; round < 20; round++ {
		cur, _, _ := db.Get("r", "race")
		var wins sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for g := 0; g < 4; g++ {
			wins.Add(1)
			go func(g int) {
				defer wins.Done()
				ok, err := db.CompareAndSwapVersion("r", "race", cur.Version, kv.Int(int64(g)))
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}(g)
		}
		wins.Wait()
		if won != 1 {
			t.Fatalf("round %d: %d winners", round, won)
		}
	}
}

func TestReview62HistoryGetAt(t *testing.T) {
	db := r62mem(t)
	var vs []kv.Version
	for i := 0; i < 5; i++ {
		v, _ := db.Put("r", "k", kv.Int(int64(i)))
		vs = append(vs, v)
		db.Put("r", "other", kv.Int(int64(i)))
	}
	dv, _ := db.MDelete("r", []string{"k"})
	_ = dv
	h, err := db.History("r", "k", 0, 0)
	if err != nil || len(h) != 6 || !h[0].Deleted || h[0].Value.Kind() != kv.KindNull {
		t.Fatalf("History: %v %v", h, err)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Version >= h[i-1].Version || h[i].Timestamp.After(h[i-1].Timestamp) {
			t.Fatalf("History order at %d", i)
		}
	}
	// Paging with before.
	var all []kv.Versioned
	var before kv.Version
	for {
		p, err := db.History("r", "k", 2, before)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		all = append(all, p...)
		before = p[len(p)-1].Version
	}
	if len(all) != 6 {
		t.Fatalf("paged history %d", len(all))
	}
	if p, _ := db.History("r", "k", 0, vs[0]); len(p) != 0 {
		t.Fatalf("before first: %v", p)
	}
	if p, _ := db.History("r", "k", -1, vs[2]+1); len(p) != 3 || p[0].Version != vs[2] {
		t.Fatalf("before vs[2]+1: %v", p)
	}
	if p, err := db.History("r", "never", 0, 0); err != nil || p == nil || len(p) != 0 {
		t.Fatalf("unknown key: %#v %v", p, err)
	}
	// GetAt.
	if _, err := db.GetAt("r", "k", 0); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("GetAt 0: %v", err)
	}
	if _, err := db.GetAt("r", "k", vs[0]-1); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("GetAt before first: %v", err)
	}
	for i, v := range vs {
		got, err := db.GetAt("r", "k", v+1) // v+1 is "other"'s version
		if err != nil || !got.Value.Equal(kv.Int(int64(i))) || got.Version != v {
			t.Errorf("GetAt %d: %v %v", v+1, got, err)
		}
	}
	if _, err := db.GetAt("r", "k", db.LastVersion()); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("GetAt deleted: %v", err)
	}
	if _, err := db.GetAt("r", "k", math.MaxUint64); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("GetAt future deleted: %v", err)
	}
	if got, err := db.GetAt("r", "other", math.MaxUint64); err != nil || !got.Value.Equal(kv.Int(4)) {
		t.Errorf("GetAt future: %v %v", got, err)
	}
	if _, ok, _ := db.Get("r", "k"); ok {
		t.Error("Get of deleted")
	}
	if ok, _ := db.Exists("r", "k"); ok {
		t.Error("Exists of deleted")
	}
	// Keys/Scan skip deleted.
	if ks, _ := db.Keys("r", "", 0); fmt.Sprint(ks) != "[other]" {
		t.Errorf("Keys: %v", ks)
	}
}
