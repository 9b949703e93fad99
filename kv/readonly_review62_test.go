package kv_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-kv/strata/kv"
)

// r62snapshot returns every file under dir with its size, mode and hash.
func r62snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		if d.IsDir() {
			out[p] = "dir " + info.Mode().String()
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		out[p] = info.Mode().String() + " " + string(h[:])
		return nil
	})
	return out
}

func r62diff(t *testing.T, a, b map[string]string) {
	t.Helper()
	for k, v := range a {
		if w, ok := b[k]; !ok {
			t.Errorf("%s vanished", k)
		} else if v != w {
			t.Errorf("%s changed", k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			t.Errorf("%s appeared", k)
		}
	}
}

// A ReadOnly DB refuses every write with ErrReadOnly and leaves the
// directory's bytes as they were.
func TestReview62ReadOnlyWritesNothing(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{Retention: kv.Retention{KeepVersions: 1}, CompactAt: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		db.Put("r", "k", kv.Int(int64(i)))
		db.Put("r", "c", kv.Int(1))
	}
	db.Delete("r", "c")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	snap := r62snapshot(t, dir)
	ro, err := kv.Open(dir, &kv.Options{ReadOnly: true, Retention: kv.Retention{KeepVersions: 1}})
	if err != nil {
		t.Fatal(err)
	}
	lv := ro.LastVersion()
	must := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, kv.ErrReadOnly) {
			t.Errorf("%s: %v, want ErrReadOnly", name, err)
		}
	}
	_, err = ro.Put("r", "k", kv.Int(9))
	must("Put", err)
	_, err = ro.Delete("r", "k")
	must("Delete", err)
	_, err = ro.Delete("r", "never")
	must("Delete absent", err)
	_, err = ro.Incr("r", "k", 1)
	must("Incr", err)
	_, err = ro.CompareAndSwapVersion("r", "k", 0, kv.Int(1))
	must("CASV", err)
	_, err = ro.CompareAndSwapValue("r", "k", nil, kv.Int(1))
	must("CASVal", err)
	_, err = ro.MPut("r", []kv.KeyValue{{Key: "k", Value: kv.Int(1)}})
	must("MPut", err)
	_, err = ro.MPut("r", nil)
	must("MPut empty", err)
	_, err = ro.MDelete("r", []string{"k"})
	must("MDelete", err)
	_, err = ro.Update(func(tx *kv.Txn) error { return tx.Put("r", "k", kv.Int(1)) })
	must("Update", err)
	_, err = ro.Update(func(tx *kv.Txn) error { return nil })
	must("Update no writes", err)
	_, err = ro.DropRun("r")
	must("DropRun", err)
	_, err = ro.ForkRun("r", "r2", 0)
	must("ForkRun", err)
	_, err = ro.Compact(context.Background())
	must("Compact", err)
	// Reads still work.
	if v, ok, err := ro.Get("r", "k"); err != nil || !ok {
		t.Fatalf("Get: %v %v %v", v, ok, err)
	}
	if err := ro.Sync(); err != nil {
		t.Errorf("Sync on read-only: %v", err)
	}
	_ = ro.Stats()
	if ro.LastVersion() != lv {
		t.Errorf("LastVersion moved")
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	r62diff(t, snap, r62snapshot(t, dir))
}

// Closing: a second Close returns nil, every other call ErrClosed.
func TestReview62ClosedEverything(t *testing.T) {
	for _, mode := range []string{"mem", "disk"} {
		var db *kv.DB
		var err error
		if mode == "mem" {
			db, err = kv.Open("", &kv.Options{Durability: kv.InMemory})
		} else {
			db, err = kv.Open(t.TempDir(), nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		db.Put("r", "k", kv.Int(1))
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		must := func(name string, err error) {
			t.Helper()
			if !errors.Is(err, kv.ErrClosed) {
				t.Errorf("%s %s: %v, want ErrClosed", mode, name, err)
			}
		}
		_, err = db.Put("r", "k", kv.Int(1))
		must("Put", err)
		_, _, err = db.Get("r", "k")
		must("Get", err)
		_, err = db.GetAt("r", "k", 1)
		must("GetAt", err)
		_, err = db.Delete("r", "k")
		must("Delete", err)
		_, err = db.Exists("r", "k")
		must("Exists", err)
		_, err = db.History("r", "k", 0, 0)
		must("History", err)
		_, err = db.Incr("r", "k", 1)
		must("Incr", err)
		_, err = db.CompareAndSwapVersion("r", "k", 1, kv.Int(1))
		must("CASV", err)
		_, err = db.CompareAndSwapValue("r", "k", nil, kv.Int(1))
		must("CASVal", err)
		_, err = db.Keys("r", "", 0)
		must("Keys", err)
		_, err = db.Scan("r", "", 0, "")
		must("Scan", err)
		_, err = db.MGet("r", []string{"k"})
		must("MGet", err)
		_, err = db.MGet("r", nil)
		must("MGet empty", err)
		_, err = db.MPut("r", []kv.KeyValue{{Key: "k", Value: kv.Int(1)}})
		must("MPut", err)
		_, err = db.MPut("r", nil)
		must("MPut empty", err)
		_, err = db.MDelete("r", []string{"k"})
		must("MDelete", err)
		_, err = db.MExists("r", []string{"k"})
		must("MExists", err)
		_, err = db.MExists("r", nil)
		must("MExists empty", err)
		_, err = db.Update(func(*kv.Txn) error { return nil })
		must("Update", err)
		must("View", db.View(func(*kv.Txn) error { return nil }))
		must("ViewAt", db.ViewAt(1, func(*kv.Txn) error { return nil }))
		must("Sync", db.Sync())
		_, err = db.Compact(context.Background())
		must("Compact", err)
		_, err = db.Runs()
		must("Runs", err)
		_, err = db.DropRun("r")
		must("DropRun", err)
		_, err = db.ForkRun("r", "s", 0)
		must("ForkRun", err)
		_, err = db.Range("r", kv.RangeOptions{})
		must("Range", err)
		_, err = db.Changes("r", "", 0, 0)
		must("Changes", err)
		_, err = db.Diff("r", 0, 1)
		must("Diff", err)
		must("WaitFor", db.WaitFor(context.Background(), 1))
		must("WaitFor 0", db.WaitFor(context.Background(), 0))
		_, err = db.Checkpoint(t.TempDir() + "/cp")
		must("Checkpoint", err)
		if lv := db.LastVersion(); lv != 1 {
			t.Errorf("LastVersion after Close: %d", lv)
		}
	}
}
