package kv

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func dirBytes64(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func open64(t *testing.T, dir string, o *Options) *DB {
	t.Helper()
	db, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func fill64(t *testing.T, db *DB, run RunID, n int) {
	t.Helper()
	for i := 0; i < n; i += 500 {
		var kvs []KeyValue
		for j := i; j < min(n, i+500); j++ {
			kvs = append(kvs, KeyValue{Key: fmt.Sprintf("k%06d", j), Value: String(fmt.Sprintf("v%06d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", j))})
		}
		if _, err := db.MPut(run, kvs); err != nil {
			t.Fatal(err)
		}
	}
}

// DropRun and ForkRun of a 10k-key run add no more bytes on disk than
// one Put: the closed directories (segments, hints, manifest) compared,
// before and after compaction under a retention policy.
func TestReview64DropForkBytesOnDisk(t *testing.T) {
	n := 10000
	if raceEnabled {
		n = 2000
	}
	build := func(op string) (closed, compacted int64) {
		dir := t.TempDir()
		o := &Options{CompactAt: -1, SegmentSize: 256 << 10, SyncInterval: 1 << 40, Retention: Retention{KeepVersions: 1}}
		db := open64(t, dir, o)
		fill64(t, db, "src", n)
		fill64(t, db, "src", n) // a second version of each key, for retention to drop
		var err error
		switch op {
		case "put":
			_, err = db.Put("other", "key-of-16-bytes!", String(string(make([]byte, 100))))
		case "fork":
			_, err = db.ForkRun("src", "dst", 0)
		case "forkold":
			_, err = db.ForkRun("src", "dst", Version(n/500))
		case "drop":
			_, err = db.DropRun("src")
		case "forkfork":
			if _, err = db.ForkRun("src", "dst", 0); err == nil {
				_, err = db.ForkRun("dst", "dst2", 0)
			}
		}
		if err != nil {
			t.Fatal(op, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		closed = dirBytes64(t, dir)
		db = open64(t, dir, o)
		if _, err := db.Compact(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		compacted = dirBytes64(t, dir)
		return
	}
	c0, k0 := build("none")
	cp, kp := build("put")
	t.Logf("none: %d / %d; put: +%d / +%d", c0, k0, cp-c0, kp-k0)
	for _, op := range []string{"fork", "forkold", "drop", "forkfork"} {
		c, k := build(op)
		t.Logf("%s: +%d closed, +%d compacted", op, c-c0, k-k0)
		if c-c0 > 2*(cp-c0)+64 {
			t.Errorf("%s of %d keys: %d bytes on disk after Close; one Put %d", op, n, c-c0, cp-c0)
		}
		// A fork at an older version pins the source's versions from the
		// one it reads on: README's known limit 1, not checked here.
		if op != "forkold" && k-k0 > 2*(kp-k0)+64 {
			t.Errorf("%s of %d keys: %d bytes on disk after Compact; one Put %d", op, n, k-k0, kp-k0)
		}
	}
}

func hist64(t *testing.T, db *DB, run RunID, key string) []string {
	t.Helper()
	h, err := db.History(run, key, 0, 0)
	if err != nil {
		t.Fatalf("History(%s,%s): %v", run, key, err)
	}
	var out []string
	for _, v := range h {
		if v.Deleted {
			out = append(out, fmt.Sprintf("%d:del", v.Version))
		} else {
			out = append(out, fmt.Sprintf("%d:%s", v.Version, v.Value))
		}
	}
	return out
}

func get64(t *testing.T, db *DB, run RunID, key string) string {
	t.Helper()
	v, ok, err := db.Get(run, key)
	if err != nil {
		t.Fatalf("Get(%s,%s): %v", run, key, err)
	}
	if !ok {
		return "-"
	}
	return v.Value.String()
}

type m64 struct{ t *testing.T }

func (m m64) v(v Version, err error) Version {
	m.t.Helper()
	if err != nil {
		m.t.Fatal(err)
	}
	return v
}

func (m m64) c(v []Change, err error) []Change {
	m.t.Helper()
	if err != nil {
		m.t.Fatal(err)
	}
	return v
}

func (m m64) r(v []RunID, err error) []RunID {
	m.t.Helper()
	if err != nil {
		m.t.Fatal(err)
	}
	return v
}

func (m m64) g(v Versioned, _ bool, err error) Versioned {
	m.t.Helper()
	if err != nil {
		m.t.Fatal(err)
	}
	return v
}

// Forks of forks, a drop then a fork from the dropped run at an older
// version, with History across each fork point, before and after
// Compact and reopen, and Runs, Diff and Changes across them.
func TestReview64ForkChains(t *testing.T) {
	M := m64{t}
	dir := t.TempDir()
	opts := &Options{SegmentSize: 4096, CompactAt: -1}
	db := open64(t, dir, opts)
	v1 := M.v(db.Put("a", "k", String("a1")))
	M.v(db.Put("a", "j", String("j1")))
	v2 := M.v(db.Put("a", "k", String("a2")))
	fb := M.v(db.ForkRun("a", "b", v1)) // b.k = a1, b.j absent at v1
	M.v(db.Put("a", "k", String("a3")))
	vb := M.v(db.Put("b", "k", String("b1")))
	fc := M.v(db.ForkRun("b", "c", 0))    // c.k = b1
	fc2 := M.v(db.ForkRun("b", "c2", fb)) // c2.k = a1 through b's link
	vd := M.v(db.DropRun("a"))
	fe := M.v(db.ForkRun("a", "e", v2)) // e.k = a2, e.j = j1
	M.v(db.Put("c", "k", String("c1")))
	_ = vd
	_ = fc2
	want := map[string][]string{}
	check := func(stage string) {
		t.Helper()
		got := map[string][]string{}
		for _, r := range []RunID{"a", "b", "c", "c2", "e"} {
			for _, k := range []string{"k", "j"} {
				got[string(r)+"/"+k] = append([]string{get64(t, db, r, k)}, hist64(t, db, r, k)...)
			}
		}
		runs := m64{t}.r(db.Runs())
		got["runs"] = nil
		for _, r := range runs {
			got["runs"] = append(got["runs"], string(r))
		}
		if len(want) == 0 {
			for k, v := range got {
				want[k] = v
				t.Logf("%s: %v", k, v)
			}
			return
		}
		for k := range want {
			if !slices.Equal(want[k], got[k]) {
				t.Errorf("%s: %s = %v, was %v", stage, k, got[k], want[k])
			}
		}
	}
	check("live")
	// Spot-check the expected semantics.
	if g := get64(t, db, "c2", "k"); g != `"a1"` {
		t.Errorf("c2.k = %s, want a1", g)
	}
	if g := get64(t, db, "e", "k"); g != `"a2"` {
		t.Errorf("e.k = %s, want a2", g)
	}
	if g := get64(t, db, "b", "j"); g != "-" {
		t.Errorf("b.j = %s, want absent", g)
	}
	if h := hist64(t, db, "c", "k"); !slices.Equal(h, []string{fmt.Sprint(M.g(db.Get("c", "k")).Version) + `:"c1"`, fmt.Sprintf(`%d:"b1"`, vb), fmt.Sprintf(`%d:"a1"`, v1)}) {
		t.Errorf("History(c,k) = %v", h)
	}
	_ = fe
	_ = fc
	if _, err := db.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("after compact")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open64(t, dir, opts)
	check("after reopen")
	if _, err := db.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("after reopen+compact")
	// Diffs across the drop and the fork.
	d := M.c(db.Diff("a", v2, vd))
	if len(d) != 2 || !d[0].Deleted || !d[1].Deleted {
		t.Errorf("Diff(a, v2, drop) = %+v", d)
	}
	d = M.c(db.Diff("e", vd, fe))
	if len(d) != 2 || d[0].Key != "j" || d[1].Key != "k" || d[1].Value.String() != `"a2"` {
		t.Errorf("Diff(e, drop, fork) = %+v", d)
	}
	cs := M.c(db.Changes("e", "", 0, 0))
	t.Logf("Changes(e) = %+v", cs)
	if len(cs) != 2 {
		t.Errorf("Changes(e) = %+v", cs)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A checkpoint opened read-only reads the same.
	db = open64(t, dir, opts)
	cp := filepath.Join(t.TempDir(), "cp")
	cv := M.v(db.Checkpoint(cp))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open64(t, cp, &Options{ReadOnly: true})
	defer db.Close()
	if db.LastVersion() != cv {
		t.Errorf("checkpoint version %d, LastVersion %d", cv, db.LastVersion())
	}
	check("checkpoint read-only")
	d2 := M.c(db.Diff("e", vd, fe))
	if len(d2) != 2 {
		t.Errorf("read-only Diff = %+v", d2)
	}
	cs2 := M.c(db.Changes("e", "", 0, 0))
	if len(cs2) != len(cs) {
		t.Errorf("read-only Changes = %+v, was %+v", cs2, cs)
	}
	_ = os.Remove
}
