package kv

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// A model of the database: every version of every key.
type modelVersion struct {
	version Version
	value   Value
	deleted bool
}

type model struct {
	hist map[string][]modelVersion // key (run-qualified) -> oldest first
	last Version
	// keep is Retention.KeepVersions (0: keep all); trimmed the version
	// below which compaction may have dropped what reads need.
	keep    int
	trimmed Version
}

// compact applies what Compact does under Retention{KeepVersions:
// m.keep}, written out independently of package compaction: each key
// keeps its m.keep newest versions, and a tombstone left with nothing
// older goes too; reads below the oldest version kept (or the dropped
// tombstone) may need what is gone.
func (m *model) compact() {
	if m.keep <= 0 {
		return
	}
	for k, h := range m.hist {
		d := max(0, len(h)-m.keep)
		if d == len(h)-1 && h[len(h)-1].deleted {
			d = len(h)
		}
		if d == 0 {
			continue
		}
		clear := h[len(h)-1].version
		if d < len(h) {
			clear = h[d].version
		}
		m.trimmed = max(m.trimmed, clear)
		if d == len(h) {
			delete(m.hist, k)
		} else {
			m.hist[k] = slices.Clone(h[d:])
		}
	}
}

func (m *model) commit(t *testing.T, v Version, writes map[string]*Value) {
	t.Helper()
	require.Greater(t, v, m.last, "versions strictly increase")
	m.last = v
	for k, val := range writes {
		if val == nil {
			m.hist[k] = append(m.hist[k], modelVersion{version: v, deleted: true})
		} else {
			m.hist[k] = append(m.hist[k], modelVersion{version: v, value: *val})
		}
	}
}

func (m *model) at(k string, at Version) (modelVersion, bool) {
	h := m.hist[k]
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].version <= at {
			return h[i], !h[i].deleted
		}
	}
	return modelVersion{}, false
}

// atAny returns the newest version of k at or below at, tombstones
// included.
func (m *model) atAny(k string, at Version) (modelVersion, bool) {
	h := m.hist[k]
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].version <= at {
			return h[i], true
		}
	}
	return modelVersion{}, false
}

func (m *model) liveKeys(run string, at Version) []string {
	var keys []string
	for k := range m.hist {
		if r, key := splitModelKey(k); r == run {
			if _, ok := m.at(k, at); ok {
				keys = append(keys, key)
			}
		}
	}
	slices.Sort(keys)
	if keys == nil {
		keys = []string{}
	}
	return keys
}

func modelKey(run RunID, key string) string { return string(run) + "/" + key }

func splitModelKey(k string) (string, string) {
	for i := range k {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

func randValue(r *rand.Rand) Value {
	switch r.IntN(6) {
	case 0:
		return Int(int64(r.IntN(100)))
	case 1:
		return String(fmt.Sprintf("s%d", r.IntN(1000)))
	case 2:
		return Bytes(make([]byte, r.IntN(300))) // compressible, sometimes
	case 3:
		return Array(Int(int64(r.IntN(5))), Null())
	case 4:
		return Float(r.Float64())
	default:
		return Object(map[string]Value{"k": Bool(r.IntN(2) == 0)})
	}
}

// TestModelRandomOperations drives random operations, reopens and crashes
// against the model, and checks every answer and, periodically, the whole
// state and history at random versions.
func TestModelRandomOperations(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, seed, 400) })
	}
}

// TestModelSoak runs the model test with fresh seeds for as long as
// STRATA_SOAK says (a Go duration, e.g. STRATA_SOAK=30m); it is skipped
// otherwise; a quarter of the seeds keep every version, the others keep
// 1 to 3 under compaction. A failure names its seed, which
// runModelKeeping(t, seed, 2000, seed%4) replays.
func TestModelSoak(t *testing.T) {
	d := os.Getenv("STRATA_SOAK")
	if d == "" {
		t.Skip("set STRATA_SOAK=<duration> to soak")
	}
	dur, err := time.ParseDuration(d)
	require.NoError(t, err, "STRATA_SOAK")
	deadline := time.Now().Add(dur)
	seed := uint64(time.Now().UnixNano())
	n := 0
	for ; time.Now().Before(deadline); seed++ {
		if !t.Run(fmt.Sprint(seed), func(t *testing.T) { runModelKeeping(t, seed, 2000, int(seed%4)) }) {
			t.Fatalf("seed %d failed", seed)
		}
		n++
	}
	t.Logf("%d seeds of 2000 steps passed", n)
}

// TestModelWithRetention is the model test with Retention{KeepVersions:
// 1..3} and explicit Compact calls among the operations (background
// compaction off, so the model knows when versions go): every read must
// answer from the versions retention keeps, or say ErrHistoryTrimmed.
func TestModelWithRetention(t *testing.T) {
	for seed := uint64(1); seed <= 9; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModelKeeping(t, seed, 400, 1+int(seed%3)) })
	}
}

func runModel(t *testing.T, seed uint64, steps int) { runModelKeeping(t, seed, steps, 0) }

// runModelKeeping runs the model test; with keep > 0, under
// Retention{KeepVersions: keep}, with Compact among the operations.
func runModelKeeping(t *testing.T, seed uint64, steps, keep int) {
	r := rand.New(rand.NewPCG(seed, seed*7))
	mem := vfs.NewMem()
	opts := Options{Durability: Strict, SegmentSize: int64(300 + r.IntN(3000))}
	if keep > 0 {
		opts.Retention, opts.CompactAt = Retention{KeepVersions: keep}, -1
	}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	defer func() { db.Close() }()
	m := &model{hist: map[string][]modelVersion{}, keep: keep}
	runs := []RunID{"a", "b"}
	key := func() (RunID, string) { return runs[r.IntN(2)], fmt.Sprintf("k%d", r.IntN(12)) }

	for step := 0; step < steps; step++ {
		run, k := key()
		mk := modelKey(run, k)
		switch op := r.IntN(100); {
		case op < 30:
			v := randValue(r)
			ver, err := db.Put(run, k, v)
			require.NoError(t, err)
			m.commit(t, ver, map[string]*Value{mk: &v})
		case op < 40:
			_, live := m.at(mk, m.last)
			ok, err := db.Delete(run, k)
			require.NoError(t, err)
			require.Equal(t, live, ok, "delete %s", mk)
			if ok {
				m.commit(t, db.LastVersion(), map[string]*Value{mk: nil})
			}
		case op < 50:
			writes := map[string]*Value{}
			var kvs []KeyValue
			for i := 0; i < 1+r.IntN(4); i++ {
				_, k2 := key()
				v := randValue(r)
				kvs = append(kvs, KeyValue{k2, v})
				writes[modelKey(run, k2)] = &v
			}
			ver, err := db.MPut(run, kvs)
			require.NoError(t, err)
			m.commit(t, ver, writes)
		case op < 55:
			keys := []string{k, fmt.Sprintf("k%d", r.IntN(12))}
			writes := map[string]*Value{}
			for _, k2 := range keys {
				if _, live := m.at(modelKey(run, k2), m.last); live {
					writes[modelKey(run, k2)] = nil
				}
			}
			n, err := db.MDelete(run, keys)
			require.NoError(t, err)
			require.Equal(t, len(writes), n)
			if n > 0 {
				m.commit(t, db.LastVersion(), writes)
			}
		case op < 65:
			cur, live := m.at(mk, m.last)
			n, err := db.Incr(run, k, 3)
			if live {
				if i, isInt := cur.value.AsInt(); isInt {
					require.NoError(t, err)
					require.Equal(t, i+3, n)
				} else {
					require.ErrorIs(t, err, ErrWrongType)
					continue
				}
			} else {
				require.NoError(t, err)
				require.EqualValues(t, 3, n)
			}
			v := Int(n)
			m.commit(t, db.LastVersion(), map[string]*Value{mk: &v})
		case op < 72:
			cur, live := m.at(mk, m.last)
			expected := Version(0)
			if live && r.IntN(3) > 0 {
				expected = cur.version
			} else if r.IntN(2) == 0 {
				expected = Version(r.IntN(int(m.last) + 2))
			}
			v := randValue(r)
			ok, err := db.CompareAndSwapVersion(run, k, expected, v)
			require.NoError(t, err)
			want := (expected == 0 && !live) || (live && expected == cur.version)
			require.Equal(t, want, ok)
			if ok {
				m.commit(t, db.LastVersion(), map[string]*Value{mk: &v})
			}
		case op < 85:
			// A read-modify-write transaction over two keys and a listing.
			_, k2 := key()
			writes := map[string]*Value{}
			ver, err := db.Update(func(tx *Txn) error {
				keys, err := tx.Keys(run, "k1", 0)
				if err != nil {
					return err
				}
				require.Equal(t, filterPrefix(m.liveKeys(string(run), m.last), "k1"), keys)
				got, ok, err := tx.Get(run, k)
				if err != nil {
					return err
				}
				want, live := m.at(mk, m.last)
				require.Equal(t, live, ok)
				if ok {
					require.True(t, sameish(want.value, got.Value))
				}
				v := Int(int64(len(keys)))
				if err := tx.Put(run, k2, v); err != nil {
					return err
				}
				writes[modelKey(run, k2)] = &v
				if r.IntN(3) == 0 {
					deleted, err := tx.Delete(run, k)
					if err != nil {
						return err
					}
					if deleted && k != k2 {
						writes[mk] = nil
					} else if deleted {
						delete(writes, mk) // put then delete of one key: absent after, not written if absent before
						if live {
							writes[mk] = nil
						}
					}
				}
				return nil
			})
			require.NoError(t, err)
			if ver != 0 {
				m.commit(t, ver, writes)
			}
		case op < 90:
			// Reopen: cleanly, or after a crash (Strict: power loss keeps all).
			if r.IntN(2) == 0 {
				require.NoError(t, db.Close())
				db, err = openMem(t, mem, opts)
			} else {
				crashed := mem.CrashClone(0)
				db.Close()
				mem = crashed
				db, err = openMem(t, mem, opts)
			}
			require.NoError(t, err)
			require.Equal(t, m.last, db.LastVersion())
		case op < 94 && keep > 0:
			st, err := db.Compact(t.Context())
			require.NoError(t, err)
			before := 0
			for _, h := range m.hist {
				before += len(h)
			}
			m.compact()
			after := 0
			for _, h := range m.hist {
				after += len(h)
			}
			require.EqualValues(t, before-after, st.VersionsDropped, "versions dropped")
		default:
			checkModel(t, db, m, r)
		}
	}
	checkModel(t, db, m, r)
}

func filterPrefix(keys []string, prefix string) []string {
	out := []string{}
	for _, k := range keys {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			out = append(out, k)
		}
	}
	return out
}

// sameish is Equal, except that NaN-free random values make it exact.
func sameish(a, b Value) bool { return a.Equal(b) }

func checkModel(t *testing.T, db *DB, m *model, r *rand.Rand) {
	t.Helper()
	for mk, h := range m.hist {
		run, k := splitModelKey(mk)
		got, err := db.History(RunID(run), k, 0, 0)
		require.NoError(t, err)
		require.Len(t, got, len(h), "history of %s", mk)
		for i, v := range got {
			want := h[len(h)-1-i]
			require.Equal(t, want.version, v.Version)
			require.Equal(t, want.deleted, v.Deleted)
			if !want.deleted {
				require.True(t, sameish(want.value, v.Value), "%s@%d: %v vs %v", mk, v.Version, want.value, v.Value)
			}
		}
	}
	// Scan, in pages: the live keys, newest values.
	for _, run := range []string{"a", "b"} {
		var keys []string
		cursor := ""
		for {
			p, err := db.Scan(RunID(run), "", 1+r.IntN(5), cursor)
			require.NoError(t, err)
			for _, e := range p.Entries {
				keys = append(keys, e.Key)
				want, ok := m.at(modelKey(RunID(run), e.Key), m.last)
				require.True(t, ok, "scan of %s: %s", run, e.Key)
				require.Equal(t, want.version, e.Version)
				require.True(t, sameish(want.value, e.Value))
			}
			if cursor = p.Cursor; cursor == "" {
				break
			}
		}
		if keys == nil {
			keys = []string{}
		}
		require.Equal(t, m.liveKeys(run, m.last), keys, "scan of %s", run)
	}
	// GetAt: from what is kept, or ErrHistoryTrimmed below the horizon
	// when nothing kept answers.
	for range 20 {
		run, k := RunID([]string{"a", "b"}[r.IntN(2)]), fmt.Sprintf("k%d", r.IntN(12))
		at := Version(r.IntN(int(m.last) + 2))
		got, err := db.GetAt(run, k, at)
		want, ok := m.at(modelKey(run, k), at)
		_, any := m.atAny(modelKey(run, k), at)
		switch {
		case ok:
			require.NoError(t, err, "GetAt %s/%s@%d", run, k, at)
			require.Equal(t, want.version, got.Version)
			require.True(t, sameish(want.value, got.Value))
		case !any && at < m.trimmed && at > 0: // at 0, the empty database, nothing is trimmed
			require.ErrorIs(t, err, ErrHistoryTrimmed, "GetAt %s/%s@%d below the horizon %d", run, k, at, m.trimmed)
		default: // deleted as of at, or never written
			require.ErrorIs(t, err, ErrNotFound, "GetAt %s/%s@%d", run, k, at)
		}
	}
	at := Version(r.IntN(int(m.last) + 2))
	if at < m.trimmed && at > 0 {
		err := db.ViewAt(at, func(*Txn) error { return nil })
		require.ErrorIs(t, err, ErrHistoryTrimmed, "ViewAt %d below the horizon %d", at, m.trimmed)
		at = m.trimmed
	}
	require.NoError(t, db.ViewAt(at, func(tx *Txn) error {
		for _, run := range []string{"a", "b"} {
			keys, err := tx.Keys(RunID(run), "", 0)
			require.NoError(t, err)
			require.Equal(t, m.liveKeys(run, min(at, m.last)), keys, "keys of %s at %d", run, at)
			for _, k := range keys {
				got, ok, err := tx.Get(RunID(run), k)
				require.NoError(t, err)
				require.True(t, ok)
				want, _ := m.at(modelKey(RunID(run), k), at)
				require.Equal(t, want.version, got.Version)
			}
		}
		return nil
	}))
}
