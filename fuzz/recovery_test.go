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

var base struct {
	once  sync.Once
	fs    *vfs.Mem
	model *kvtest.Model // the history written: every commit, versions 1, 2, ...
	keys  []kvtest.Key
	segs  []string // segment file names
	err   error
}

// baseDir writes a small history across a few segments (with puts,
// batches, deletes and compressible values) once per process.
func baseDir() (*vfs.Mem, *kvtest.Model, []kvtest.Key, []string, error) {
	base.once.Do(func() {
		mem := vfs.NewMem()
		db, err := kvtest.OpenFS(mem, dir, &kv.Options{Durability: kv.Strict, SegmentSize: 400})
		if err != nil {
			base.err = err
			return
		}
		m := kvtest.NewModel()
		do := func(op kvtest.Op) {
			want := m.Predict(op)
			res, err := kvtest.Exec(db, op)
			if err == nil {
				err = m.Apply(res.Version, want)
			}
			if err != nil && base.err == nil {
				base.err = err
			}
		}
		for i := 0; i < 12; i++ {
			do(kvtest.Op{Kind: kvtest.OpPut, Run: "r", Keys: []string{fmt.Sprintf("k%d", i%4)}, Values: []kv.Value{kv.Int(int64(i))}})
			if i%3 == 1 {
				do(kvtest.Op{Kind: kvtest.OpMPut, Run: "r2", Keys: []string{"a", "b"},
					Values: []kv.Value{kv.String(fmt.Sprintf("long value %d %0100d", i, i)), kv.Bytes([]byte{byte(i)})}})
			}
			if i%4 == 3 {
				do(kvtest.Op{Kind: kvtest.OpDelete, Run: "r", Keys: []string{"k1"}})
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
		base.fs, base.model = mem, m
		for _, k := range []string{"k0", "k1", "k2", "k3", "a", "b"} {
			base.keys = append(base.keys, kvtest.Key{Run: "r", Key: k}, kvtest.Key{Run: "r2", Key: k})
		}
	})
	return base.fs, base.model, base.keys, base.segs, base.err
}

func FuzzRecovery(f *testing.F) {
	mem, _, _, segs, err := baseDir()
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
		mem, model, keys, segs, err := baseDir()
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
		// db holds exactly the first LastVersion commits: every version
		// of every key, and nothing else.
		last := db.LastVersion()
		if last > model.Last() {
			t.Fatalf("recovered version %d of %d commits", last, model.Last())
		}
		prefix := model.Clone()
		prefix.Truncate(last)
		kvtest.CheckState(t, db, prefix, keys)
	})
}
