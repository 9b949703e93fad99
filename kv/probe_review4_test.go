package kv_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/strata-kv/strata/kv"
)

// probe state: per version, run -> key -> value (int)
type pstate map[kv.RunID]map[string]int64

func (s pstate) clone() pstate {
	o := pstate{}
	for r, m := range s {
		o[r] = map[string]int64{}
		for k, v := range m {
			o[r][k] = v
		}
	}
	return o
}

type pchange struct {
	key     string
	val     int64
	deleted bool
}

type probe struct {
	t       *testing.T
	states  []pstate // index: version
	changes map[kv.Version]map[kv.RunID][]pchange
	ops     []string
	h       kv.Version
}

var pRuns = []kv.RunID{"a", "b", "c"}
var pKeys = []string{"k1", "k2", "k3"}

func (p *probe) cur() pstate { return p.states[len(p.states)-1] }

func (p *probe) advance(v kv.Version, s pstate, ch map[kv.RunID][]pchange) {
	for kv.Version(len(p.states)) < v {
		p.states = append(p.states, p.cur().clone())
	}
	p.states = append(p.states, s)
	p.changes[v] = ch
}

func (p *probe) failf(format string, args ...any) {
	p.t.Helper()
	p.t.Fatalf("ops:\n%s\n"+format, append([]any{joinOps(p.ops)}, args...)...)
}

func joinOps(ops []string) string {
	s := ""
	for _, o := range ops {
		s += "  " + o + "\n"
	}
	return s
}

// check reads everything at every version; trimmed records which reads
// said ErrHistoryTrimmed (keyed by a description).
func (p *probe) check(db *kv.DB, trimmedBefore map[string]bool, where string) map[string]bool {
	p.t.Helper()
	trimmed := map[string]bool{}
	last := kv.Version(len(p.states) - 1)
	if os.Getenv("PROBE_HONLY") != "" {
		h := kv.Version(0)
		for v := kv.Version(1); v <= last; v++ {
			err := db.ViewAt(v, func(tx *kv.Txn) error { _, err := tx.Keys("zzz", "", 0); return err })
			if errors.Is(err, kv.ErrHistoryTrimmed) {
				h = v + 1
			}
		}
		if h < p.h {
			p.failf("%s: horizon went down from %d to %d", where, p.h, h)
		}
		p.h = h
		return nil
	}
	if os.Getenv("PROBE_H") != "" {
		h := kv.Version(0)
		for v := kv.Version(1); v <= last; v++ {
			err := db.ViewAt(v, func(tx *kv.Txn) error { _, err := tx.Keys("zzz", "", 0); return err })
			if errors.Is(err, kv.ErrHistoryTrimmed) {
				h = v + 1
			}
		}
		p.t.Logf("%s (op %d): horizon %d", where, len(p.ops), h)
	}
	for v := kv.Version(0); v <= last; v++ {
		st := p.states[v]
		for _, run := range pRuns {
			for _, key := range pKeys {
				desc := fmt.Sprintf("GetAt(%s,%s,%d)", run, key, v)
				got, err := db.GetAt(run, key, v)
				want, ok := st[run][key]
				switch {
				case errors.Is(err, kv.ErrHistoryTrimmed):
					trimmed[desc] = true
				case errors.Is(err, kv.ErrNotFound):
					if ok {
						p.failf("%s: %s = not found, want %d", where, desc, want)
					}
				case err != nil:
					p.failf("%s: %s: %v", where, desc, err)
				default:
					n, _ := got.Value.AsInt()
					if !ok || n != want {
						p.failf("%s: %s = %d, want %d (present %v)", where, desc, n, want, ok)
					}
				}
				if !trimmed[desc] && trimmedBefore[desc] && os.Getenv("PROBE_NODOWN") == "" {
					p.failf("%s: %s was ErrHistoryTrimmed before, now %v / %v (horizon went down)", where, desc, got, err)
				}
			}
			desc := fmt.Sprintf("ViewAt(%d).Keys(%s)", v, run)
			var keys []string
			err := db.ViewAt(v, func(tx *kv.Txn) error {
				var err error
				keys, err = tx.Keys(run, "", 0)
				return err
			})
			var want []string
			for k := range st[run] {
				want = append(want, k)
			}
			slices.Sort(want)
			switch {
			case errors.Is(err, kv.ErrHistoryTrimmed):
				trimmed[desc] = true
			case err != nil:
				p.failf("%s: %s: %v", where, desc, err)
			default:
				if !slices.Equal(keys, want) && !(len(keys) == 0 && len(want) == 0) {
					p.failf("%s: %s = %v, want %v", where, desc, keys, want)
				}
			}
			// Changes after v
			desc = fmt.Sprintf("Changes(%s, after %d)", run, v)
			cs, err := db.Changes(run, "", v, 1000)
			switch {
			case errors.Is(err, kv.ErrHistoryTrimmed):
				trimmed[desc] = true
			case err != nil:
				p.failf("%s: %s: %v", where, desc, err)
			default:
				var wantS, gotS []string
				for w := v + 1; w <= last; w++ {
					for _, c := range p.changes[w][run] {
						wantS = append(wantS, fmt.Sprintf("%d:%s:%d:%v", w, c.key, c.val, c.deleted))
					}
				}
				for _, c := range cs {
					n, _ := c.Value.AsInt()
					gotS = append(gotS, fmt.Sprintf("%d:%s:%d:%v", c.Version, c.Key, n, c.Deleted))
				}
				slices.Sort(wantS)
				slices.Sort(gotS)
				if !slices.Equal(wantS, gotS) {
					p.failf("%s: %s = %v, want %v", where, desc, gotS, wantS)
				}
			}
			// Diff(v, last)
			desc = fmt.Sprintf("Diff(%s, %d, %d)", run, v, last)
			ds, err := db.Diff(run, v, last)
			switch {
			case errors.Is(err, kv.ErrHistoryTrimmed):
				trimmed[desc] = true
			case err != nil:
				p.failf("%s: %s: %v", where, desc, err)
			default:
				var wantS, gotS []string
				a, b := st[run], p.states[last][run]
				for _, k := range pKeys {
					av, aok := a[k]
					bv, bok := b[k]
					if aok != bok || av != bv {
						wantS = append(wantS, fmt.Sprintf("%s:%d:%v", k, bv, !bok))
					}
				}
				for _, c := range ds {
					n, _ := c.Value.AsInt()
					gotS = append(gotS, fmt.Sprintf("%s:%d:%v", c.Key, n, c.Deleted))
				}
				if !slices.Equal(wantS, gotS) {
					p.failf("%s: %s = %v, want %v", where, desc, gotS, wantS)
				}
			}
		}
	}
	return trimmed
}

func runProbe(t *testing.T, seed int64, nops int, keep int) {
	dir := t.TempDir()
	opts := &kv.Options{Retention: kv.Retention{KeepVersions: keep}, CompactAt: -1, SegmentSize: 4096}
	db, err := kv.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	rng := rand.New(rand.NewSource(seed))
	p := &probe{t: t, states: []pstate{{}}, changes: map[kv.Version]map[kv.RunID][]pchange{}}
	val := int64(0)
	var trimmed map[string]bool
	for i := 0; i < nops; i++ {
		run := pRuns[rng.Intn(len(pRuns))]
		key := pKeys[rng.Intn(len(pKeys))]
		switch x := rng.Intn(20); {
		case x < 8:
			val++
			v, err := db.Put(run, key, kv.Int(val))
			if err != nil {
				t.Fatal(err)
			}
			p.ops = append(p.ops, fmt.Sprintf("v%d Put(%s,%s,%d)", v, run, key, val))
			s := p.cur().clone()
			if s[run] == nil {
				s[run] = map[string]int64{}
			}
			s[run][key] = val
			p.advance(v, s, map[kv.RunID][]pchange{run: {{key: key, val: val}}})
		case x < 11:
			ok, err := db.Delete(run, key)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				v := db.LastVersion()
				p.ops = append(p.ops, fmt.Sprintf("v%d Delete(%s,%s)", v, run, key))
				s := p.cur().clone()
				delete(s[run], key)
				p.advance(v, s, map[kv.RunID][]pchange{run: {{key: key, deleted: true}}})
			}
		case x < 13:
			v, err := db.DropRun(run)
			if err != nil {
				t.Fatal(err)
			}
			if v != 0 {
				p.ops = append(p.ops, fmt.Sprintf("v%d DropRun(%s)", v, run))
				s := p.cur().clone()
				var ch []pchange
				for k := range s[run] {
					ch = append(ch, pchange{key: k, deleted: true})
				}
				s[run] = map[string]int64{}
				p.advance(v, s, map[kv.RunID][]pchange{run: ch})
			}
		case x < 15:
			dst := pRuns[rng.Intn(len(pRuns))]
			if dst == run || os.Getenv("PROBE_NOFORK") != "" {
				continue
			}
			last := db.LastVersion()
			at := kv.Version(0)
			if last > 0 && rng.Intn(2) == 0 {
				at = kv.Version(rng.Int63n(int64(last))) + 1
			}
			v, err := db.ForkRun(run, dst, at)
			if err != nil {
				if errors.Is(err, kv.ErrInvalidRun) || errors.Is(err, kv.ErrHistoryTrimmed) {
					continue
				}
				t.Fatal(err)
			}
			if v == 0 {
				continue
			}
			a := at
			if a == 0 {
				a = last
			}
			p.ops = append(p.ops, fmt.Sprintf("v%d ForkRun(%s,%s,%d)", v, run, dst, at))
			s := p.cur().clone()
			s[dst] = map[string]int64{}
			var ch []pchange
			for k, x := range p.states[a][run] {
				s[dst][k] = x
				ch = append(ch, pchange{key: k, val: x})
			}
			p.advance(v, s, map[kv.RunID][]pchange{dst: ch})
		case x < 17:
			if _, err := db.Compact(context.Background()); err != nil {
				t.Fatal(err)
			}
			p.ops = append(p.ops, "Compact")
			trimmed = p.check(db, trimmed, "after Compact")
		default:
			if os.Getenv("PROBE_NOREOPEN") != "" {
				continue
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if db, err = kv.Open(dir, opts); err != nil {
				t.Fatal(err)
			}
			p.ops = append(p.ops, "Close+Open")
			trimmed = p.check(db, trimmed, "after reopen")
		}
	}
}

// TestProbeReview4 is the randomized differential probe the review ran
// (Put, Delete, DropRun, ForkRun, Compact, Close+Open under
// KeepVersions 1 and 2; every GetAt, ViewAt Keys, Changes and Diff
// checked against a model after each Compact and reopen). It runs with
// every go test (about 5 s); PROBE_NOFORK, PROBE_NOREOPEN, PROBE_HONLY,
// PROBE_SEED/PROBE_KEEP narrow it.
func TestProbeReview4(t *testing.T) {
	if s := os.Getenv("PROBE_SEED"); s != "" {
		seed, _ := strconv.Atoi(s)
		keep, _ := strconv.Atoi(os.Getenv("PROBE_KEEP"))
		runProbe(t, int64(seed), 60, keep)
		return
	}
	n, _ := strconv.Atoi(os.Getenv("PROBE_N"))
	if n == 0 {
		n = 50
	}
	for seed := int64(1); seed <= int64(n); seed++ {
		for _, keep := range []int{1, 2} {
			t.Run(fmt.Sprintf("seed%d_keep%d", seed, keep), func(t *testing.T) { runProbe(t, seed, 60, keep) })
		}
	}
}
