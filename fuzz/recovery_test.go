package fuzz

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

const dir = "/db"

// committed is the history written to the base directory: commit i has
// version i+1.
type commit struct {
	run    kv.RunID
	writes map[string]*kv.Value // nil: delete
}

var base struct {
	once    sync.Once
	fs      *vfs.Mem
	commits []commit
	segs    []string // segment file names
	err     error
}

// baseDir writes a small history across a few segments (with puts,
// batches, deletes and compressible values) once per process.
func baseDir() (*vfs.Mem, []commit, []string, error) {
	base.once.Do(func() {
		mem := vfs.NewMem()
		db, err := kvtest.OpenFS(mem, dir, &kv.Options{Durability: kv.Strict, SegmentSize: 400})
		if err != nil {
			base.err = err
			return
		}
		add := func(c commit, err error) {
			if err != nil && base.err == nil {
				base.err = err
			}
			base.commits = append(base.commits, c)
		}
		for i := 0; i < 12; i++ {
			v := kv.Int(int64(i))
			k := fmt.Sprintf("k%d", i%4)
			_, err := db.Put("r", k, v)
			add(commit{"r", map[string]*kv.Value{k: &v}}, err)
			if i%3 == 1 {
				a, b := kv.String(fmt.Sprintf("long value %d %0100d", i, i)), kv.Bytes([]byte{byte(i)})
				_, err := db.MPut("r2", []kv.KeyValue{{Key: "a", Value: a}, {Key: "b", Value: b}})
				add(commit{"r2", map[string]*kv.Value{"a": &a, "b": &b}}, err)
			}
			if i%4 == 3 {
				_, err := db.Delete("r", "k1")
				add(commit{"r", map[string]*kv.Value{"k1": nil}}, err)
			}
		}
		if err := db.Close(); err != nil && base.err == nil {
			base.err = err
		}
		names, _ := mem.List(dir)
		for _, n := range names {
			if _, ok := segment.ParseFileName(n); ok {
				base.segs = append(base.segs, n)
			}
		}
		base.fs = mem
	})
	return base.fs, base.commits, base.segs, base.err
}

func FuzzRecovery(f *testing.F) {
	mem, _, segs, err := baseDir()
	if err != nil {
		f.Fatal(err)
	}
	for i, name := range segs {
		b, _ := vfs.ReadFile(mem, filepath.Join(dir, name))
		f.Add(uint8(i), b)
		f.Add(uint8(i), b[:len(b)-5])
		flipped := append([]byte(nil), b...)
		flipped[len(b)/2] ^= 1
		f.Add(uint8(i), flipped)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		mem, commits, segs, err := baseDir()
		if err != nil {
			t.Fatal(err)
		}
		fs := mem.CrashClone(1)
		name := filepath.Join(dir, segs[int(which)%len(segs)])
		w, err := fs.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()

		db, err := kvtest.OpenFS(fs, dir, &kv.Options{Durability: kv.Strict})
		if err != nil {
			// A header naming another format version is refused as such.
			if !errors.Is(err, kv.ErrCorrupt) && !errors.Is(err, segment.ErrOldFormat) {
				t.Fatalf("Open failed without ErrCorrupt: %v", err)
			}
			return
		}
		defer db.Close()
		checkPrefix(t, db, commits)
	})
}

// checkPrefix verifies that db holds exactly the first LastVersion commits:
// every version of every key, and nothing else.
func checkPrefix(t *testing.T, db *kv.DB, commits []commit) {
	t.Helper()
	last := int(db.LastVersion())
	if last > len(commits) {
		t.Fatalf("recovered version %d of %d commits", last, len(commits))
	}
	type ver struct {
		version kv.Version
		value   *kv.Value
	}
	hist := map[kv.RunID]map[string][]ver{"r": {}, "r2": {}}
	for i, c := range commits[:last] {
		for k, v := range c.writes {
			hist[c.run][k] = append(hist[c.run][k], ver{kv.Version(i + 1), v})
		}
	}
	for run, keys := range hist {
		var live []string
		for _, k := range []string{"k0", "k1", "k2", "k3", "a", "b"} {
			want := keys[k]
			got, err := db.History(run, k, 0, 0)
			if err != nil {
				t.Fatalf("history %s/%s: %v", run, k, err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s/%s: %d versions recovered, want %d (at version %d)", run, k, len(got), len(want), last)
			}
			for i, g := range got {
				w := want[len(want)-1-i]
				if g.Version != w.version || g.Deleted != (w.value == nil) || (w.value != nil && !sameValue(g.Value, *w.value)) {
					t.Fatalf("%s/%s: recovered %v@%d deleted=%v, want %v@%d", run, k, g.Value, g.Version, g.Deleted, w.value, w.version)
				}
			}
			if len(want) > 0 && want[len(want)-1].value != nil {
				live = append(live, k)
			}
		}
		keys, err := db.Keys(run, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(sortedCopy(live)) != fmt.Sprint(keys) {
			t.Fatalf("run %s lists %v, want %v", run, keys, live)
		}
	}
}
