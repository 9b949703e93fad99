package fuzz

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
)

func sortedCopy(s []string) []string {
	c := append([]string{}, s...)
	slices.Sort(c)
	return c
}

// opsModel holds every version of every key.
type opsModel struct {
	hist map[string][]mv // "run/key" -> oldest first
	last kv.Version
}

type mv struct {
	version kv.Version
	value   *kv.Value // nil: tombstone
}

func (m *opsModel) live(k string) (mv, bool) {
	h := m.hist[k]
	if len(h) == 0 || h[len(h)-1].value == nil {
		return mv{}, false
	}
	return h[len(h)-1], true
}

func (m *opsModel) commit(t *testing.T, v kv.Version, writes map[string]*kv.Value) {
	t.Helper()
	if v <= m.last {
		t.Fatalf("version %d after %d", v, m.last)
	}
	m.last = v
	for k, val := range writes {
		m.hist[k] = append(m.hist[k], mv{v, val})
	}
}

// truncate drops every version above v: what a crash took back.
func (m *opsModel) truncate(v kv.Version) {
	for k, h := range m.hist {
		i := len(h)
		for i > 0 && h[i-1].version > v {
			i--
		}
		m.hist[k] = h[:i]
	}
	m.last = v
}

// crashImage is the power loss of op 8: with arg&8 clear, a prefix (none,
// half, all) of the unsynced bytes survives; with it set, a subset of
// small pages (16 to 128 bytes, chosen by a hash of arg and the page),
// the lost ones zeroed or (arg&4) garbage.
func crashImage(mem *vfs.Mem, arg byte) *vfs.Mem {
	if arg&8 == 0 {
		return mem.CrashClone(float64(arg%3) / 2)
	}
	size := int64(16) << (arg >> 4 & 3)
	keep := func(_ string, p int64) bool {
		return (uint64(p)*0x9E3779B97F4A7C15^uint64(arg)*0xBF58476D1CE4E5B9)>>63 == 1
	}
	fill := func(b []byte) { clear(b) }
	if arg&4 != 0 {
		fill = func(b []byte) {
			for i := range b {
				b[i] = byte(i*37) ^ arg
			}
		}
	}
	return mem.CrashImage(vfs.Pages(size, keep, fill))
}

// FuzzOps interprets the input as operations on a database on the
// in-memory FS and checks every answer, and after each reopen or crash
// every version, against the model. The first byte picks the durability:
// even Strict, odd Buffered (no background sync: an explicit Sync is an
// operation). Then each operation takes two bytes: the operation and an
// argument. After a power loss the database must hold exactly the
// model's first L versions, for an L no lower than the last version a
// Sync (or, in Strict, the commit itself) made durable.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 2, 1, 1, 7, 0, 4, 3, 4, 3, 8, 1, 9, 0})
	f.Add([]byte{0, 2, 5, 6, 1, 5, 0, 5, 9, 3, 2, 8, 2, 9, 1, 6, 6, 7, 7})
	f.Add([]byte{0, 4, 0, 4, 0, 4, 0, 8, 0, 4, 0, 1, 0, 4, 0, 9, 9})
	f.Add([]byte{1, 0, 1, 0, 2, 2, 5, 7, 1, 0, 3, 4, 3, 8, 0x1c, 9, 0, 0, 7, 8, 0x38})
	f.Add([]byte{1, 2, 5, 2, 6, 2, 7, 2, 8, 7, 0, 2, 9, 8, 0x29, 0, 1, 8, 0x0a})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 401 {
			ops = ops[:401]
		}
		opts := &kv.Options{Durability: kv.Strict, SegmentSize: 256, SyncInterval: time.Hour}
		if len(ops) > 0 && ops[0]&1 == 1 {
			opts.Durability = kv.Buffered
		}
		if len(ops) > 0 {
			ops = ops[1:]
		}
		mem := vfs.NewMem()
		db, err := kvtest.OpenFS(mem, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { db.Close() }()
		m := &opsModel{hist: map[string][]mv{}}
		var durable kv.Version // every version up to it survives a power loss
		for i := 0; i+1 < len(ops); i += 2 {
			if opts.Durability == kv.Strict {
				durable = m.last
			}
			op, arg := ops[i]%10, ops[i+1]
			run := kv.RunID([]string{"a", "b"}[arg&1])
			key := fmt.Sprintf("k%d", (arg>>1)%5)
			mk := string(run) + "/" + key
			val := valueFor(arg)
			switch op {
			case 0: // Put
				v, err := db.Put(run, key, val)
				must(t, err)
				m.commit(t, v, map[string]*kv.Value{mk: &val})
			case 1: // Delete
				_, live := m.live(mk)
				ok, err := db.Delete(run, key)
				must(t, err)
				if ok != live {
					t.Fatalf("Delete(%s) = %v, model says live=%v", mk, ok, live)
				}
				if ok {
					m.commit(t, db.LastVersion(), map[string]*kv.Value{mk: nil})
				}
			case 2: // MPut of two keys (maybe the same one twice)
				k2 := fmt.Sprintf("k%d", (arg>>4)%5)
				v2 := valueFor(arg + 1)
				v, err := db.MPut(run, []kv.KeyValue{{Key: key, Value: val}, {Key: k2, Value: v2}})
				must(t, err)
				w := map[string]*kv.Value{mk: &val}
				w[string(run)+"/"+k2] = &v2 // the last value of a duplicated key wins
				m.commit(t, v, w)
			case 3: // MDelete
				k2 := fmt.Sprintf("k%d", (arg>>4)%5)
				w := map[string]*kv.Value{}
				for _, k := range []string{key, k2} {
					if _, live := m.live(string(run) + "/" + k); live {
						w[string(run)+"/"+k] = nil
					}
				}
				n, err := db.MDelete(run, []string{key, k2})
				must(t, err)
				if n != len(w) {
					t.Fatalf("MDelete = %d, model %d", n, len(w))
				}
				if n > 0 {
					m.commit(t, db.LastVersion(), w)
				}
			case 4: // Incr
				cur, live := m.live(mk)
				n, err := db.Incr(run, key, int64(arg)-100)
				if live && cur.value.Kind() != kv.KindInt {
					if !errors.Is(err, kv.ErrWrongType) {
						t.Fatalf("Incr of %v: %v", *cur.value, err)
					}
					continue
				}
				must(t, err)
				want := int64(arg) - 100
				if live {
					i, _ := cur.value.AsInt()
					want += i
				}
				if n != want {
					t.Fatalf("Incr = %d, want %d", n, want)
				}
				nv := kv.Int(n)
				m.commit(t, db.LastVersion(), map[string]*kv.Value{mk: &nv})
			case 5: // CompareAndSwapVersion, right or wrong
				cur, live := m.live(mk)
				expected := kv.Version(0)
				if arg&0x80 != 0 {
					expected = cur.version
				} else if arg&0x40 != 0 {
					expected = m.last + 1
				}
				ok, err := db.CompareAndSwapVersion(run, key, expected, val)
				must(t, err)
				want := (expected == 0 && !live) || (live && expected == cur.version)
				if ok != want {
					t.Fatalf("CAS(%s, %d) = %v, want %v", mk, expected, ok, want)
				}
				if ok {
					m.commit(t, db.LastVersion(), map[string]*kv.Value{mk: &val})
				}
			case 6: // Update: copy one key to another, listing the run
				k2 := fmt.Sprintf("k%d", (arg>>4)%5)
				src, live := m.live(mk)
				w := map[string]*kv.Value{}
				v, err := db.Update(func(tx *kv.Txn) error {
					got, ok, err := tx.Get(run, key)
					if err != nil {
						return err
					}
					if ok != live || (ok && !sameValue(got.Value, *src.value)) {
						t.Fatalf("txn Get(%s) = %v %v", mk, got.Value, ok)
					}
					if _, err := tx.Keys(run, "", 0); err != nil {
						return err
					}
					if ok {
						cp := got.Value
						w[string(run)+"/"+k2] = &cp
						return tx.Put(run, k2, got.Value)
					}
					return nil
				})
				must(t, err)
				if v != 0 {
					m.commit(t, v, w)
				}
			case 7: // clean reopen, or (odd arg) Sync
				if arg&1 == 1 {
					must(t, db.Sync())
				} else {
					must(t, db.Close())
					db, err = kvtest.OpenFS(mem, dir, opts)
					must(t, err)
					checkAll(t, db, m)
				}
				durable = m.last
			case 8: // power loss keeping some of what was not synced
				crashed := crashImage(mem, arg)
				db.Close()
				mem = crashed
				db, err = kvtest.OpenFS(mem, dir, opts)
				must(t, err)
				got := db.LastVersion()
				if got < durable || got > m.last {
					t.Fatalf("power loss: recovered version %d, durable %d, last %d", got, durable, m.last)
				}
				m.truncate(got)
				checkAll(t, db, m)
			case 9: // reads: Get and GetAt at some version
				at := kv.Version(int(arg) % (int(m.last) + 2))
				got, err := db.GetAt(run, key, at)
				want, ok := modelAt(m, mk, at)
				if !ok {
					if !errors.Is(err, kv.ErrNotFound) {
						t.Fatalf("GetAt(%s, %d) = %v, %v; want not found", mk, at, got.Value, err)
					}
				} else if err != nil || got.Version != want.version || !sameValue(got.Value, *want.value) {
					t.Fatalf("GetAt(%s, %d) = %v@%d %v; want %v@%d", mk, at, got.Value, got.Version, err, *want.value, want.version)
				}
			}
		}
		checkAll(t, db, m)
	})
}

func valueFor(arg byte) kv.Value {
	switch arg % 5 {
	case 0:
		return kv.Int(int64(arg))
	case 1:
		return kv.String(fmt.Sprintf("s%d", arg))
	case 2:
		return kv.Bytes(make([]byte, int(arg)))
	case 3:
		return kv.Array(kv.Float(float64(arg)/3), kv.Null())
	default:
		return kv.Object(map[string]kv.Value{"n": kv.Int(int64(arg))})
	}
}

func modelAt(m *opsModel, k string, at kv.Version) (mv, bool) {
	h := m.hist[k]
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].version <= at {
			return h[i], h[i].value != nil
		}
	}
	return mv{}, false
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func checkAll(t *testing.T, db *kv.DB, m *opsModel) {
	t.Helper()
	if db.LastVersion() != m.last {
		t.Fatalf("LastVersion %d, model %d", db.LastVersion(), m.last)
	}
	for _, run := range []kv.RunID{"a", "b"} {
		var live []string
		for i := 0; i < 5; i++ {
			key := fmt.Sprintf("k%d", i)
			want := m.hist[string(run)+"/"+key]
			got, err := db.History(run, key, 0, 0)
			must(t, err)
			if len(got) != len(want) {
				t.Fatalf("%s/%s: %d versions, model %d", run, key, len(got), len(want))
			}
			for j, g := range got {
				w := want[len(want)-1-j]
				if g.Version != w.version || g.Deleted != (w.value == nil) || (w.value != nil && !sameValue(g.Value, *w.value)) {
					t.Fatalf("%s/%s: %v@%d, model %v@%d", run, key, g.Value, g.Version, w.value, w.version)
				}
			}
			if _, ok := m.live(string(run) + "/" + key); ok {
				live = append(live, key)
			}
		}
		keys, err := db.Keys(run, "", 0)
		must(t, err)
		if fmt.Sprint(live) != fmt.Sprint(keys) {
			t.Fatalf("run %s lists %v, model %v", run, keys, live)
		}
	}
}
