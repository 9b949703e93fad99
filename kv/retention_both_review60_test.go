package kv

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// r60Ver is one version of a key as the model knows it.
type r60Ver struct {
	v    Version
	ts   time.Time
	val  string
	tomb bool
}

// r60Model records every version written, per key, oldest first.
type r60Model struct {
	keys map[string][]r60Ver
}

func (m *r60Model) put(t *testing.T, db *DB, key, val string) {
	t.Helper()
	v := mustPut(t, db, "r", key, String(val))
	got := mustGet(t, db, "r", key)
	m.keys[key] = append(m.keys[key], r60Ver{v: v, ts: got.Timestamp, val: val})
}

func (m *r60Model) del(t *testing.T, db *DB, key string) {
	t.Helper()
	ok, err := db.Delete("r", key)
	require.NoError(t, err)
	require.True(t, ok)
	h, err := db.History("r", key, 1, 0)
	require.NoError(t, err)
	require.True(t, h[0].Deleted)
	m.keys[key] = append(m.keys[key], r60Ver{v: h[0].Version, ts: h[0].Timestamp, tomb: true})
}

// kept returns, for each version of key (oldest first), whether the
// retention (KeepVersions kv, window starting at cutoff) keeps it, as
// API.md states it: a version is kept if either rule keeps it, the newest
// is kept (a tombstone only while something older survives or the
// window holds it), and only a key's oldest versions go.
func (m *r60Model) kept(key string, kv int, keepFor bool, cutoff time.Time) []bool {
	vs := m.keys[key]
	n := len(vs)
	keep := make([]bool, n)
	// newest-first index i = n-1-j
	drop := -1 // oldest-first index up to which (inclusive) everything goes
	for j := 0; j < n; j++ {
		i := n - 1 - j
		r := vs[j]
		var k bool
		if i == 0 {
			k = !r.tomb || (keepFor && !r.ts.Before(cutoff))
		} else {
			s := vs[j+1]
			k = (kv > 0 && i < kv) || (keepFor && (!r.ts.Before(cutoff) || !s.ts.Before(cutoff)))
		}
		if k {
			break
		}
		drop = j
	}
	for j := range keep {
		keep[j] = j > drop
	}
	return keep
}

func TestRetentionBothRulesReview60(t *testing.T) {
	const window = 1500 * time.Millisecond
	type cfg struct {
		kv      int
		keepFor bool
	}
	cfgs := []cfg{{1, true}, {3, true}, {0, true}, {2, false}}
	dbs := make([]*DB, len(cfgs))
	dirs := make([]string, len(cfgs))
	models := make([]*r60Model, len(cfgs))
	optsOf := func(c cfg) *Options {
		o := &Options{SegmentSize: 2 << 10, CompactAt: -1, Retention: Retention{KeepVersions: c.kv}}
		if c.keepFor {
			o.Retention.KeepFor = window
		}
		return o
	}
	for i, c := range cfgs {
		dirs[i] = t.TempDir()
		db, err := Open(dirs[i], optsOf(c))
		require.NoError(t, err)
		dbs[i] = db
		models[i] = &r60Model{keys: map[string][]r60Ver{}}
	}
	defer func() {
		for _, db := range dbs {
			db.Close()
		}
	}()
	each := func(fn func(db *DB, m *r60Model)) {
		for i := range dbs {
			fn(dbs[i], models[i])
		}
	}
	pad := "-padding-padding-padding-padding"
	// Old phase.
	each(func(db *DB, m *r60Model) {
		for j := 1; j <= 3; j++ {
			m.put(t, db, "a", fmt.Sprintf("a%d%s", j, pad))
			m.put(t, db, "b", fmt.Sprintf("b%d%s", j, pad))
		}
		m.put(t, db, "c", "c1"+pad)
		m.put(t, db, "c", "c2"+pad)
		m.del(t, db, "c")
		m.put(t, db, "d", "d1"+pad)
		m.put(t, db, "e", "e1"+pad)
		m.put(t, db, "e", "e2"+pad)
		m.put(t, db, "h", "h1"+pad)
		m.del(t, db, "h")
		m.put(t, db, "i", "i1"+pad)
		m.del(t, db, "i")
		m.put(t, db, "i", "i2"+pad)
		for j := 0; j < 2; j++ {
			for k := 0; k < 40; k++ {
				m.put(t, db, fmt.Sprintf("z%03d", k), fmt.Sprintf("z%d-%d%s", k, j, pad))
			}
		}
	})
	oldEnd := time.Now()
	for time.Since(oldEnd) < window+300*time.Millisecond {
		time.Sleep(20 * time.Millisecond) // let the old phase age out of the window
	}
	newStart := time.Now()
	each(func(db *DB, m *r60Model) {
		m.put(t, db, "a", "a4"+pad)
		m.put(t, db, "a", "a5"+pad)
		m.del(t, db, "d")
		m.del(t, db, "e")
		m.put(t, db, "f", "f1"+pad)
		m.put(t, db, "f", "f2"+pad)
		m.put(t, db, "h", "h2"+pad)
		for k := 0; k < 40; k++ {
			m.put(t, db, fmt.Sprintf("z%03d", k), fmt.Sprintf("z%d-new%s", k, pad))
		}
	})
	// Any cutoff between oldEnd and newStart gives the same answer.
	cutoff := newStart.Add(-time.Millisecond)
	var dropped []int64
	each(func(db *DB, m *r60Model) {
		st, err := db.Compact(t.Context())
		require.NoError(t, err)
		dropped = append(dropped, st.VersionsDropped)
	})
	if d := time.Since(newStart); d >= window-200*time.Millisecond {
		// The model's cutoff needs the new phase inside the window: on a
		// machine this slow (a busy CI runner under -race) the check
		// would not say anything about the engine.
		t.Skipf("the new phase and Compact took %v, too long for the %v window", d, window)
	}

	check := func(stage string, reopened bool) {
		for ci, c := range cfgs {
			db, m := dbs[ci], models[ci]
			name := fmt.Sprintf("%s KeepVersions=%d KeepFor=%v", stage, c.kv, c.keepFor)
			var wantDropped, wantHeld int64
			for key, vs := range m.keys {
				keep := m.kept(key, c.kv, c.keepFor, cutoff)
				var wantHist []Version
				for j := len(vs) - 1; j >= 0; j-- {
					if keep[j] {
						wantHist = append(wantHist, vs[j].v)
						wantHeld++
					} else {
						wantDropped++
					}
				}
				gotHist := []Version{}
				h, err := db.History("r", key, 0, 0)
				require.NoError(t, err, name)
				for _, x := range h {
					gotHist = append(gotHist, x.Version)
				}
				if wantHist == nil {
					wantHist = []Version{}
				}
				require.Equal(t, wantHist, gotHist, "%s: History of %q", name, key)
				// History with before, at every boundary.
				for j := range vs {
					hb, err := db.History("r", key, 0, vs[j].v+1)
					require.NoError(t, err)
					var want []Version
					for jj := j; jj >= 0; jj-- {
						if keep[jj] {
							want = append(want, vs[jj].v)
						}
					}
					got := []Version{}
					for _, x := range hb {
						got = append(got, x.Version)
					}
					if want == nil {
						want = []Version{}
					}
					require.Equal(t, want, got, "%s: History(%q, before %d)", name, key, vs[j].v+1)
				}
				// GetAt at every version.
				last := db.LastVersion()
				for at := Version(1); at <= last+1; at++ {
					j := -1
					for jj := range vs {
						if vs[jj].v <= at {
							j = jj
						}
					}
					got, err := db.GetAt("r", key, at)
					switch {
					case j < 0:
						if reopened && errors.Is(err, ErrHistoryTrimmed) {
							continue // README: a key created after at, below the horizon, after a reopen
						}
						require.ErrorIs(t, err, ErrNotFound, "%s: GetAt(%q, %d) before its first version", name, key, at)
					case vs[j].tomb && !keep[j] && j < len(vs)-1:
						// A dropped deletion with a newer version kept: its answer is gone.
						require.ErrorIs(t, err, ErrHistoryTrimmed, "%s: GetAt(%q, %d): its answer, deletion v%d, was dropped", name, key, at, vs[j].v)
					case vs[j].tomb:
						if reopened && errors.Is(err, ErrHistoryTrimmed) && !keep[j] {
							continue // README: a vanished key reads as one never written after a reopen
						}
						require.ErrorIs(t, err, ErrNotFound, "%s: GetAt(%q, %d) answered by a deletion (kept %v)", name, key, at, keep[j])
					case !keep[j]:
						require.ErrorIs(t, err, ErrHistoryTrimmed, "%s: GetAt(%q, %d): its answer v%d was dropped", name, key, at, vs[j].v)
					default:
						require.NoError(t, err, "%s: GetAt(%q, %d): answer v%d is kept", name, key, at, vs[j].v)
						require.Equal(t, vs[j].v, got.Version, "%s: GetAt(%q, %d)", name, key, at)
						s, _ := got.Value.AsString()
						require.Equal(t, vs[j].val, s, "%s: GetAt(%q, %d)", name, key, at)
					}
				}
			}
			if !reopened {
				require.Equal(t, wantDropped, dropped[ci], "%s: CompactStats.VersionsDropped", name)
			}
			st := db.Stats()
			require.Equal(t, wantHeld, st.Versions, "%s: Stats.Versions (versions held)", name)
			// ViewAt at every version committed within the window reads
			// as of then.
			if c.keepFor {
				for _, vs := range m.keys {
					for _, x := range vs {
						if x.ts.Before(cutoff) {
							continue
						}
						err := db.ViewAt(x.v, func(tx *Txn) error {
							for key, kvs := range m.keys {
								j := -1
								for jj := range kvs {
									if kvs[jj].v <= x.v {
										j = jj
									}
								}
								got, ok, err := tx.Get("r", key)
								if err != nil {
									return fmt.Errorf("Get(%q): %w", key, err)
								}
								live := j >= 0 && !kvs[j].tomb
								if ok != live || (ok && got.Version != kvs[j].v) {
									return fmt.Errorf("Get(%q) at %d = %v %v, want v%d live %v", key, x.v, got.Version, ok, kvs[max(j, 0)].v, live)
								}
							}
							return nil
						})
						require.NoError(t, err, "%s: ViewAt(%d), within the window", name, x.v)
					}
				}
			}
		}
	}
	check("after Compact", false)
	for i, c := range cfgs {
		require.NoError(t, dbs[i].Close())
		db, err := Open(dirs[i], optsOf(c))
		require.NoError(t, err)
		dbs[i] = db
	}
	if time.Since(newStart) < window-100*time.Millisecond {
		check("after reopen", true)
	} else {
		t.Log("reopen check skipped: the window passed")
	}
}
