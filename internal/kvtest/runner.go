package kvtest

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
)

// Dir is the data directory of a Runner's database on its in-memory FS.
const Dir = "/db"

// Runner runs operations on a database on an in-memory file system and
// checks every answer, and the whole database after each reopen and
// crash, against a Model.
type Runner struct {
	t    testing.TB
	fs   *vfs.Mem
	opts kv.Options
	db   *kv.DB
	m    *Model
	// keep is the Retention.KeepVersions that OpCompact applies.
	keep int
	// durable is the newest version a power loss must keep.
	durable kv.Version
	// touched holds every key an operation named: their histories are
	// checked, empty or not.
	touched map[Key]bool
	r       *rand.Rand // for the samples a check takes
}

// NewRunner opens a database with opts on a new in-memory FS. A Runner
// with opts.Retention.KeepVersions > 0 (and background compaction off:
// CompactAt -1) checks OpCompact against Model.Compact. seed drives the
// samples that checks take.
func NewRunner(t testing.TB, opts kv.Options, seed uint64) *Runner {
	t.Helper()
	h := &Runner{t: t, fs: vfs.NewMem(), opts: opts, m: NewModel(), keep: opts.Retention.KeepVersions,
		touched: map[Key]bool{}, r: rand.New(rand.NewPCG(seed, 1))}
	h.open()
	t.Cleanup(func() {
		if h.db != nil {
			h.db.Close()
		}
	})
	return h
}

// DB returns the database the runner runs operations on.
func (h *Runner) DB() *kv.DB { return h.db }

// Model returns the model the runner checks the database against.
func (h *Runner) Model() *Model { return h.m }

func (h *Runner) open() {
	h.t.Helper()
	o := h.opts
	db, err := OpenFS(h.fs, Dir, &o)
	h.no(err, "open")
	h.db = db
}

// no fails the test if err is not nil.
func (h *Runner) no(err error, what string, args ...any) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// Do runs op, checks what it answers against the model and records what
// it wrote.
func (h *Runner) Do(op Op) {
	h.t.Helper()
	if op.Kind != OpForkRun { // its Keys[0] names a run
		for _, k := range op.Keys {
			h.touched[Key{op.Run, k}] = true
		}
	}
	db, m := h.db, h.m
	switch op.Kind {
	case OpReopen:
		h.no(db.Close(), "close")
		h.open()
		m.Reopened()
		h.durable = m.Last()
		h.Check()
		return
	case OpCrash:
		img := CrashImage(h.fs, op.Image)
		db.Close()
		h.fs = img
		h.open()
		got := h.db.LastVersion()
		if got < h.durable || got > m.Last() {
			h.t.Fatalf("%v: recovered to version %d; durable %d, last %d", op, got, h.durable, m.Last())
		}
		m.Truncate(got)
		m.Reopened()
		h.durable = got
		h.Check()
		return
	case OpSync:
		h.no(db.Sync(), "sync")
		h.durable = m.Last()
		return
	case OpCompact:
		st, err := db.Compact(h.t.Context())
		h.no(err, "compact")
		if dropped := m.Compact(h.keep); st.VersionsDropped != int64(dropped) {
			h.t.Fatalf("Compact dropped %d versions; the model, %d", st.VersionsDropped, dropped)
		}
		return
	case OpCheck:
		h.Check()
		return
	case OpGetAt:
		(&checker{t: h.t, db: db, m: m, r: h.r}).getAt(Key{op.Run, op.Keys[0]}, kv.Version(op.At%(uint64(m.Last())+2)))
		return
	}
	want := m.Predict(op)
	res, err := Exec(db, op)
	if !errors.Is(err, want.Err) || (err != nil) != (want.Err != nil) {
		h.t.Fatalf("%v: error %v, want %v", op, err, want.Err)
	}
	switch op.Kind {
	case OpDelete, OpCAS:
		if res.OK != want.OK {
			h.t.Fatalf("%v: answered %v, the model %v", op, res.OK, want.OK)
		}
	case OpMDelete, OpIncr:
		if err == nil && res.N != want.N {
			h.t.Fatalf("%v: answered %d, the model %d", op, res.N, want.N)
		}
	case OpUpdate:
		if !slices.Equal(res.Listed, want.Listed) || res.Found != want.Found ||
			(res.Found && (res.Read.Version != want.Read.Version || !res.Read.Value.Equal(want.Read.Value))) {
			h.t.Fatalf("%v: the transaction saw %v and %v@%d (found %v); the model %v and %v@%d (found %v)", op,
				res.Listed, res.Read.Value, res.Read.Version, res.Found, want.Listed, want.Read.Value, want.Read.Version, want.Found)
		}
	}
	if (res.Version != 0) != (want.Writes != nil) {
		h.t.Fatalf("%v: version %d, writes %v: %v", op, res.Version, want.Writes, errNoCommit)
	}
	if want.Writes != nil {
		h.no(m.Apply(res.Version, want), "%v", op)
		for k := range want.Writes {
			h.touched[k] = true // (DropRun and ForkRun name no keys)
		}
	}
	if h.opts.Durability == kv.Strict {
		h.durable = m.Last()
	}
}

// Check checks the whole database against the model: LastVersion, the
// history of every key an operation named, each run's live keys and
// values by Scan (in pages of random size), reads at random versions
// (GetAt), and a snapshot at a random version (ViewAt, Keys, Get).
func (h *Runner) Check() {
	h.t.Helper()
	c := &checker{t: h.t, db: h.db, m: h.m, r: h.r}
	keys := slices.SortedFunc(maps.Keys(h.touched), compareKeys)
	c.state(keys)
	for range 20 {
		if len(keys) == 0 {
			break
		}
		k := keys[h.r.IntN(len(keys))]
		c.getAt(k, kv.Version(h.r.IntN(int(h.m.Last())+2)))
	}
	c.viewAt(keys, kv.Version(h.r.IntN(int(h.m.Last())+2)))
}

// CheckState checks db against m: LastVersion, the history of each of
// keys (empty or not) and each of their runs' live keys and values, by
// Scan.
func CheckState(t testing.TB, db *kv.DB, m *Model, keys []Key) {
	t.Helper()
	(&checker{t: t, db: db, m: m, r: rand.New(rand.NewPCG(1, 1))}).state(keys)
}

// checker compares a database with a model.
type checker struct {
	t  testing.TB
	db *kv.DB
	m  *Model
	r  *rand.Rand
}

func (c *checker) no(err error, what string, args ...any) {
	c.t.Helper()
	if err != nil {
		c.t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

func (c *checker) state(keys []Key) {
	c.t.Helper()
	c.no(Matches(c.db, c.m, keys, 1+c.r.IntN(5)), "the database against the model")
}

// Matches reports how db differs from m (nil: it does not): its
// LastVersion, the history of each of keys (empty or not), and each of
// their runs' live keys and values, read by Scan in pages of page keys.
func Matches(db *kv.DB, m *Model, keys []Key, page int) error {
	if db.LastVersion() != m.Last() {
		return fmt.Errorf("LastVersion %d, the model %d", db.LastVersion(), m.Last())
	}
	runs := map[kv.RunID]bool{}
	for _, k := range keys {
		runs[k.Run] = true
		got, err := db.History(k.Run, k.Key, 0, 0)
		if err != nil {
			return fmt.Errorf("history of %v: %w", k, err)
		}
		want := m.History(k)
		if len(got) != len(want) {
			return fmt.Errorf("history of %v: %d versions, the model %d", k, len(got), len(want))
		}
		for i, g := range got {
			w := want[i]
			if g.Version != w.Version || g.Deleted != w.Deleted || (!w.Deleted && !g.Value.Equal(w.Value)) {
				return fmt.Errorf("history of %v: %v@%d (deleted %v), the model %v@%d (deleted %v)", k, g.Value, g.Version, g.Deleted, w.Value, w.Version, w.Deleted)
			}
		}
	}
	for _, run := range slices.Sorted(maps.Keys(runs)) {
		if err := matchScan(db, m, run, page); err != nil {
			return err
		}
	}
	return nil
}

// matchScan pages through run's live keys.
func matchScan(db *kv.DB, m *Model, run kv.RunID, page int) error {
	keys := []string{}
	cursor := ""
	for {
		p, err := db.Scan(run, "", page, cursor)
		if err != nil {
			return fmt.Errorf("scan of %s: %w", run, err)
		}
		for _, e := range p.Entries {
			keys = append(keys, e.Key)
			want, ok := m.Live(Key{run, e.Key})
			if !ok || want.Version != e.Version || !want.Value.Equal(e.Value) {
				return fmt.Errorf("scan of %s: %s = %v@%d; the model %v@%d (live %v)", run, e.Key, e.Value, e.Version, want.Value, want.Version, ok)
			}
		}
		if cursor = p.Cursor; cursor == "" {
			break
		}
	}
	if want := m.LiveKeys(run, "", m.Last()); !slices.Equal(keys, want) {
		return fmt.Errorf("scan of %s: %v; the model %v", run, keys, want)
	}
	return nil
}

// getAt reads k at version at: from what is kept, ErrNotFound when k
// was absent then, or ErrHistoryTrimmed when nothing kept answers below
// Model.AbsentBound; never at version 0, the empty database.
func (c *checker) getAt(k Key, at kv.Version) {
	c.t.Helper()
	m := c.m
	got, err := c.db.GetAt(k.Run, k.Key, at)
	want, ok := m.At(k, at)
	_, any := m.AtAny(k, at)
	bound := m.AbsentBound(k, at)
	switch {
	case ok:
		if err != nil || got.Version != want.Version || !got.Value.Equal(want.Value) {
			c.t.Fatalf("GetAt %v@%d = %v@%d, %v; the model %v@%d", k, at, got.Value, got.Version, err, want.Value, want.Version)
		}
	case !any && at < bound && at > 0:
		if !errors.Is(err, kv.ErrHistoryTrimmed) {
			c.t.Fatalf("GetAt %v@%d below %d (trim horizon %d, vanished %d): %v, want ErrHistoryTrimmed", k, at, bound, m.Trimmed(), m.Vanished(), err)
		}
	default:
		if !errors.Is(err, kv.ErrNotFound) {
			c.t.Fatalf("GetAt %v@%d = %v@%d, %v; want ErrNotFound", k, at, got.Value, got.Version, err)
		}
	}
}

// viewAt reads a snapshot at version at of the runs of keys (below the
// trim horizon, ViewAt must refuse; the snapshot is then taken at the
// horizon).
func (c *checker) viewAt(keys []Key, at kv.Version) {
	c.t.Helper()
	m := c.m
	if at < m.Trimmed() && at > 0 {
		err := c.db.ViewAt(at, func(*kv.Txn) error { return nil })
		if !errors.Is(err, kv.ErrHistoryTrimmed) {
			c.t.Fatalf("ViewAt %d below the trim horizon %d: %v, want ErrHistoryTrimmed", at, m.Trimmed(), err)
		}
		at = m.Trimmed()
	}
	runs := map[kv.RunID]bool{}
	for _, k := range keys {
		runs[k.Run] = true
	}
	err := c.db.ViewAt(at, func(tx *kv.Txn) error {
		for _, run := range slices.Sorted(maps.Keys(runs)) {
			keys, err := tx.Keys(run, "", 0)
			if err != nil {
				return err
			}
			if want := m.LiveKeys(run, "", min(at, m.Last())); !slices.Equal(keys, want) {
				return fmt.Errorf("keys of %s at %d: %v; the model %v", run, at, keys, want)
			}
			for _, k := range keys {
				got, ok, err := tx.Get(run, k)
				if err != nil {
					return err
				}
				want, _ := m.At(Key{run, k}, at)
				if !ok || got.Version != want.Version {
					return fmt.Errorf("get %s/%s at %d: %v@%d; the model %v@%d", run, k, at, got.Value, got.Version, want.Value, want.Version)
				}
			}
		}
		return nil
	})
	c.no(err, "view at %d", at)
}
