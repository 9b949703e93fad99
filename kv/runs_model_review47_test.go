package kv_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// r47state is the database as of one version: run -> key -> value.
type r47state map[kv.RunID]map[string]int64

func (s r47state) clone() r47state {
	o := r47state{}
	for r, m := range s {
		o[r] = map[string]int64{}
		for k, v := range m {
			o[r][k] = v
		}
	}
	return o
}

type r47change struct {
	v       kv.Version
	key     string
	val     int64
	deleted bool
}

// r47model follows every commit: the state after each version and the
// changes each version made to each run.
type r47model struct {
	states  []r47state // by version
	changes map[kv.RunID][]r47change
	ops     []string
}

func (m *r47model) cur() r47state { return m.states[len(m.states)-1] }

func (m *r47model) at(v kv.Version) r47state {
	if int(v) >= len(m.states) {
		return m.cur()
	}
	return m.states[v]
}

func (m *r47model) commit(t *testing.T, v kv.Version, s r47state, ch map[kv.RunID][]r47change) {
	t.Helper()
	require.Equal(t, len(m.states), int(v), "versions are consecutive; ops:\n%s", strings.Join(m.ops, "\n"))
	m.states = append(m.states, s)
	for run, cs := range ch {
		sort.Slice(cs, func(i, j int) bool { return cs[i].key < cs[j].key })
		m.changes[run] = append(m.changes[run], cs...)
	}
}

var (
	r47Runs = []kv.RunID{"r1", "r2", "r3"}
	r47Keys = []string{"a1", "a2", "a3", "b1", "b2", "c"}
)

// TestReview47RunsModel drives Put, Delete, MPut, DropRun and ForkRun
// (at the latest and at older versions), with Compact (merging small
// segments), Close and Open, and checks Changes (paged, under prefixes),
// Diff (every pair of versions, either order, beyond the last), Range
// (both directions, bounds, paged) at the latest and in ViewAt, and the
// same reads through a ReadOnly open, against a model. Without retention
// nothing may be ErrHistoryTrimmed; with it (KeepVersions, KeepFor, both),
// each answer is the model's or ErrHistoryTrimmed (no background
// compaction: what is dropped changes only at Compact).
func TestReview47RunsModel(t *testing.T) {
	seeds := uint64(4)
	if raceOn {
		seeds = 2 // the model's logic is the same; the race detector's runs take 3 times as long
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r47runModel(t, seed, 400, &kv.Options{SegmentSize: 1 << 10, CompactAt: -1}, 4)
		})
		t.Run(fmt.Sprint("merge", seed), func(t *testing.T) {
			r47runModel(t, seed, 400, &kv.Options{SegmentSize: 64 << 10, CompactAt: -1}, 15)
		})
		t.Run(fmt.Sprint("keep", seed), func(t *testing.T) {
			r47runModel(t, seed, 400, &kv.Options{SegmentSize: 1 << 10, CompactAt: -1, Retention: kv.Retention{KeepVersions: 1 + int(seed%2)}}, 4)
		})
		t.Run(fmt.Sprint("keepfor", seed), func(t *testing.T) {
			r47runModel(t, seed, 400, &kv.Options{SegmentSize: 1 << 10, CompactAt: -1, Retention: kv.Retention{KeepFor: time.Microsecond, KeepVersions: int(seed % 2)}}, 4)
		})
	}
}

func r47runModel(t *testing.T, seed uint64, steps int, opts *kv.Options, reopens int) {
	rng := rand.New(rand.NewPCG(seed, 47))
	dir := t.TempDir()
	db, err := kv.Open(dir, opts)
	require.NoError(t, err)
	defer func() { db.Close() }()
	m := &r47model{states: []r47state{{}}, changes: map[kv.RunID][]r47change{}}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("ops:\n%s\n"+format, append([]any{strings.Join(m.ops, "\n")}, args...)...)
	}
	for step := 0; step < steps; step++ {
		run := r47Runs[rng.IntN(len(r47Runs))]
		key := r47Keys[rng.IntN(len(r47Keys))]
		switch p := rng.IntN(100); {
		case p < 45:
			val := int64(rng.IntN(1000))
			m.ops = append(m.ops, fmt.Sprintf("put %s %s %d", run, key, val))
			v, err := db.Put(run, key, kv.Int(val))
			require.NoError(t, err)
			s := m.cur().clone()
			if s[run] == nil {
				s[run] = map[string]int64{}
			}
			s[run][key] = val
			m.commit(t, v, s, map[kv.RunID][]r47change{run: {{v: v, key: key, val: val}}})
		case p < 60:
			m.ops = append(m.ops, fmt.Sprintf("del %s %s", run, key))
			ok, err := db.Delete(run, key)
			require.NoError(t, err)
			_, live := m.cur()[run][key]
			if ok != live {
				fail("Delete said %v, model %v", ok, live)
			}
			if ok {
				v := db.LastVersion()
				s := m.cur().clone()
				delete(s[run], key)
				m.commit(t, v, s, map[kv.RunID][]r47change{run: {{v: v, key: key, deleted: true}}})
			}
		case p < 68:
			n := 1 + rng.IntN(3)
			var ents []kv.KeyValue
			s := m.cur().clone()
			if s[run] == nil {
				s[run] = map[string]int64{}
			}
			last := map[string]int64{}
			for range n {
				k := r47Keys[rng.IntN(len(r47Keys))]
				val := int64(rng.IntN(1000))
				ents = append(ents, kv.KeyValue{Key: k, Value: kv.Int(val)})
				last[k] = val
			}
			m.ops = append(m.ops, fmt.Sprintf("mput %s %v", run, ents))
			v, err := db.MPut(run, ents)
			require.NoError(t, err)
			var cs []r47change
			for k, val := range last {
				s[run][k] = val
				cs = append(cs, r47change{v: v, key: k, val: val})
			}
			m.commit(t, v, s, map[kv.RunID][]r47change{run: cs})
		case p < 74:
			m.ops = append(m.ops, fmt.Sprintf("droprun %s", run))
			v, err := db.DropRun(run)
			require.NoError(t, err)
			if len(m.cur()[run]) == 0 {
				if v != 0 {
					fail("DropRun of an empty run wrote version %d", v)
				}
				continue
			}
			s := m.cur().clone()
			var cs []r47change
			for k := range s[run] {
				cs = append(cs, r47change{v: v, key: k, deleted: true})
			}
			delete(s, run)
			m.commit(t, v, s, map[kv.RunID][]r47change{run: cs})
		case p < 82:
			dst := r47Runs[rng.IntN(len(r47Runs))]
			var at kv.Version
			if rng.IntN(2) == 0 && len(m.states) > 1 {
				at = kv.Version(1 + rng.IntN(len(m.states)+2)) // may pass the last
			}
			m.ops = append(m.ops, fmt.Sprintf("fork %s -> %s at %d", run, dst, at))
			v, err := db.ForkRun(run, dst, at)
			if errors.Is(err, kv.ErrHistoryTrimmed) && at != 0 && run != dst {
				require.Zero(t, v)
				continue
			}
			if run == dst {
				if !errors.Is(err, kv.ErrInvalidRun) {
					fail("fork onto itself: %v", err)
				}
				continue
			}
			if len(m.cur()[dst]) > 0 {
				if !errors.Is(err, kv.ErrInvalidRun) {
					fail("fork into a run with live keys: %v, %d", err, v)
				}
				continue
			}
			require.NoError(t, err)
			src := m.cur()[run]
			if at != 0 {
				src = m.at(at)[run]
			}
			if len(src) == 0 {
				if v != 0 {
					fail("fork of an empty run wrote version %d", v)
				}
				continue
			}
			s := m.cur().clone()
			s[dst] = map[string]int64{}
			var cs []r47change
			for k, val := range src {
				s[dst][k] = val
				cs = append(cs, r47change{v: v, key: k, val: val})
			}
			m.commit(t, v, s, map[kv.RunID][]r47change{dst: cs})
		case p < 86:
			m.ops = append(m.ops, "compact")
			_, err := db.Compact(context.Background())
			require.NoError(t, err)
			r47check(t, db, m, rng, fail)
		case p < 86+reopens:
			m.ops = append(m.ops, "reopen")
			require.NoError(t, db.Close())
			db, err = kv.Open(dir, opts)
			require.NoError(t, err)
			r47check(t, db, m, rng, fail)
		case p < 88+reopens:
			m.ops = append(m.ops, "readonly")
			require.NoError(t, db.Close())
			ro, err := kv.Open(dir, &kv.Options{ReadOnly: true})
			require.NoError(t, err)
			r47check(t, ro, m, rng, fail)
			require.NoError(t, ro.Close())
			db, err = kv.Open(dir, opts)
			require.NoError(t, err)
		default:
			r47check(t, db, m, rng, fail)
		}
	}
	r47check(t, db, m, rng, fail)
}

func r47check(t *testing.T, db *kv.DB, m *r47model, rng *rand.Rand, fail func(string, ...any)) {
	t.Helper()
	last := kv.Version(len(m.states) - 1)
	if db.LastVersion() != last {
		fail("LastVersion %d, model %d", db.LastVersion(), last)
	}
	// Runs.
	var wantRuns []kv.RunID
	for _, r := range r47Runs {
		if len(m.cur()[r]) > 0 {
			wantRuns = append(wantRuns, r)
		}
	}
	runs, err := db.Runs()
	require.NoError(t, err)
	if !slices.Equal(runs, wantRuns) && !(len(runs) == 0 && len(wantRuns) == 0) {
		fail("Runs %v, model %v", runs, wantRuns)
	}
	for _, run := range r47Runs {
		// Changes, paged, from a random start, under a prefix.
		trimmedFeed := false
		for _, prefix := range []string{"", "a", "b1"} {
			after := kv.Version(rng.IntN(int(last) + 2))
			limit := 1 + rng.IntN(4)
			var got []string
			for a, pages := after, 0; ; pages++ {
				cs, err := db.Changes(run, prefix, a, limit)
				if errors.Is(err, kv.ErrHistoryTrimmed) { // (background compaction may drop between pages)
					got = nil
					trimmedFeed = true
					break
				}
				if err != nil {
					fail("Changes(%s, %q, %d, %d) (paging from %d, got so far %v): %v", run, prefix, a, limit, after, got, err)
				}
				if len(cs) == 0 {
					break
				}
				for _, c := range cs {
					v, _ := c.Value.AsInt()
					got = append(got, fmt.Sprintf("%d %s %d %v", c.Version, c.Key, v, c.Deleted))
				}
				a = cs[len(cs)-1].Version
				if pages > 10000 {
					fail("Changes does not end")
				}
			}
			if trimmedFeed {
				trimmedFeed = false
				continue
			}
			var want []string
			for _, c := range m.changes[run] {
				if c.v > after && strings.HasPrefix(c.key, prefix) {
					want = append(want, fmt.Sprintf("%d %s %d %v", c.v, c.key, c.val, c.deleted))
				}
			}
			if !slices.Equal(got, want) {
				fail("Changes(%s, %q, after %d, limit %d):\n got %v\nwant %v", run, prefix, after, limit, got, want)
			}
		}
		// Diff between random versions, either order, maybe beyond the last.
		for range 4 {
			from := kv.Version(rng.IntN(int(last) + 3))
			to := kv.Version(rng.IntN(int(last) + 3))
			ds, err := db.Diff(run, from, to)
			if errors.Is(err, kv.ErrHistoryTrimmed) {
				continue
			}
			if err != nil {
				fail("Diff(%s, %d, %d): %v", run, from, to, err)
			}
			a, b := m.at(from)[run], m.at(to)[run]
			var want []string
			keys := map[string]bool{}
			for k := range a {
				keys[k] = true
			}
			for k := range b {
				keys[k] = true
			}
			for _, k := range slices.Sorted(mapKeys(keys)) {
				av, aok := a[k]
				bv, bok := b[k]
				if aok == bok && av == bv {
					continue
				}
				if bok {
					want = append(want, fmt.Sprintf("%s %d", k, bv))
				} else {
					want = append(want, fmt.Sprintf("%s deleted", k))
				}
			}
			var got []string
			for _, d := range ds {
				if d.Deleted {
					got = append(got, fmt.Sprintf("%s deleted", d.Key))
				} else {
					v, _ := d.Value.AsInt()
					got = append(got, fmt.Sprintf("%s %d", d.Key, v))
				}
			}
			if !slices.Equal(got, want) {
				fail("Diff(%s, %d, %d):\n got %v\nwant %v", run, from, to, got, want)
			}
		}
		// Range at the latest, and in ViewAt at a random version.
		bounds := []string{"", "a", "a2", "b", "b2", "c", "d"}
		o := kv.RangeOptions{Start: bounds[rng.IntN(len(bounds))], End: bounds[rng.IntN(len(bounds))], Reverse: rng.IntN(2) == 0, Limit: 1 + rng.IntN(3)}
		if o.End != "" && o.Start > o.End {
			o.Start, o.End = o.End, o.Start
		}
		want := func(s r47state) []string {
			var out []string
			for k, v := range s[run] {
				if k >= o.Start && (o.End == "" || k < o.End) {
					out = append(out, fmt.Sprintf("%s %d", k, v))
				}
			}
			sort.Strings(out)
			if o.Reverse {
				slices.Reverse(out)
			}
			return out
		}
		page := func(get func(kv.RangeOptions) (kv.Page, error)) []string {
			var out []string
			p := o
			for i := 0; ; i++ {
				pg, err := get(p)
				if err != nil {
					fail("Range(%s, %+v): %v", run, p, err)
				}
				for _, e := range pg.Entries {
					v, _ := e.Value.AsInt()
					out = append(out, fmt.Sprintf("%s %d", e.Key, v))
				}
				if pg.Cursor == "" {
					return out
				}
				if len(pg.Entries) != p.Limit {
					fail("a page with a cursor holds %d of %d", len(pg.Entries), p.Limit)
				}
				p.Cursor = pg.Cursor
				if i > 100 {
					fail("Range does not end")
				}
			}
		}
		got := page(func(p kv.RangeOptions) (kv.Page, error) { return db.Range(run, p) })
		if w := want(m.cur()); !slices.Equal(got, w) {
			fail("Range(%s, %+v):\n got %v\nwant %v", run, o, got, w)
		}
		at := kv.Version(rng.IntN(int(last) + 2))
		err := db.ViewAt(at, func(tx *kv.Txn) error {
			got = page(func(p kv.RangeOptions) (kv.Page, error) { return tx.Range(run, p) })
			return nil
		})
		if errors.Is(err, kv.ErrHistoryTrimmed) {
			continue
		}
		require.NoError(t, err)
		if w := want(m.at(at)); !slices.Equal(got, w) {
			fail("ViewAt(%d) Range(%s, %+v):\n got %v\nwant %v", at, run, o, got, w)
		}
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
