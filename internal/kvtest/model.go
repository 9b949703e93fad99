package kvtest

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/strata-kv/strata/kv"
)

// Key is a key of a run.
type Key struct {
	Run kv.RunID
	Key string
}

// String returns "run/key".
func (k Key) String() string { return string(k.Run) + "/" + k.Key }

// Version is one version of a key in a Model.
type Version struct {
	Version kv.Version
	Value   kv.Value // Null for a deletion
	Deleted bool
	// link, in the model's own records only: a ForkRun's record, which
	// reads as the source's key at the fork's version (see Apply).
	link *Fork
	// runDrop marks a DropRun's deletion (it has no entry of its own).
	runDrop bool
}

// Fork is a ForkRun the model applies: Dst becomes Src as of At.
type Fork struct {
	Src, Dst kv.RunID
	At       kv.Version
}

// fork is a fork applied, at version v.
type fork struct {
	Fork
	v kv.Version
}

// Model is the one reference model every randomized test of Strata
// checks the database against (the kv model tests, the ops fuzz target,
// the fault-injection and crash tests): every version of every key, as
// the API promises them, written without any of the engine's code.
// Predict says what an operation must answer and write; Commit records
// what was written at a version.
type Model struct {
	hist  map[Key][]Version // oldest first
	forks []fork
	last  kv.Version
	// trimmed is the version below which reads may need history that
	// compaction dropped (see Compact).
	trimmed kv.Version
	// vanished, at most trimmed, is the version of the newest deletion
	// of a key Compact dropped whole: reads below it of a key the model
	// holds no version of may need what was dropped.
	vanished kv.Version
	// openTrimmed and openVanished are trimmed and vanished at the last
	// Open (Reopened); lost holds the keys Compact dropped versions of
	// since. A database knows what it dropped since its Open key by key,
	// what it dropped before only through those two bounds.
	openTrimmed, openVanished kv.Version
	lost                      map[Key]bool
	// first holds, for each key the database's index has held since the
	// last Open, the oldest version it held then or since, dropped or
	// not (index.Chain.First): what the key lost since the Open answers
	// no read below it.
	first map[Key]kv.Version
}

// NewModel returns an empty model: the empty database.
func NewModel() *Model { return &Model{hist: map[Key][]Version{}, first: map[Key]kv.Version{}} }

// Clone returns a copy of m, to change apart from it.
func (m *Model) Clone() *Model {
	c := &Model{hist: make(map[Key][]Version, len(m.hist)), forks: slices.Clone(m.forks), last: m.last, trimmed: m.trimmed, vanished: m.vanished,
		openTrimmed: m.openTrimmed, openVanished: m.openVanished, lost: maps.Clone(m.lost), first: maps.Clone(m.first)}
	for k, h := range m.hist {
		c.hist[k] = slices.Clone(h)
	}
	return c
}

// Last returns the version of the newest commit.
func (m *Model) Last() kv.Version { return m.last }

// Trimmed returns the version below which reads may need versions that
// Compact dropped (0: none dropped).
func (m *Model) Trimmed() kv.Version { return m.trimmed }

// Vanished returns the version below which reads of a key the model
// holds no version of may need a key Compact dropped whole (0: none
// dropped whole); it is at most Trimmed.
func (m *Model) Vanished() kv.Version { return m.vanished }

// Holds reports whether the model holds a version of k, at any version
// (a deletion or a fork's link included).
func (m *Model) Holds(k Key) bool { return len(m.hist[k]) > 0 }

// Reopened records an Open of the database (after a Close or a crash):
// what Compact dropped so far is known from now on only through Trimmed
// and Vanished.
func (m *Model) Reopened() {
	m.openTrimmed, m.openVanished, m.lost = m.trimmed, m.vanished, nil
	m.first = make(map[Key]kv.Version, len(m.hist))
	for k, h := range m.hist {
		m.first[k] = h[0].Version
	}
}

// held records that the index holds a version v of k (the first it
// holds since the Open, if it held none).
func (m *Model) held(k Key, v kv.Version) {
	if _, ok := m.first[k]; !ok {
		m.first[k] = v
	}
}

// AbsentBound returns the version below which a GetAt of k that finds
// no version at or below it (not even a deletion) says ErrHistoryTrimmed
// rather than ErrNotFound, for a read at at. For a key Compact dropped
// versions of since the last Open, read at or above the oldest version
// of it the index held since (what it lost may answer there): Trimmed,
// or Vanished if it holds none now; below that version, Trimmed as the
// Open found it (the key may have held versions then). For any other
// key, the bounds as the last Open found them: Trimmed for a key it
// holds versions of (they may have lost older ones before), Vanished for
// one it holds none of (it may have been dropped whole before).
func (m *Model) AbsentBound(k Key, at kv.Version) kv.Version {
	first, ok := m.first[k]
	switch holds, born := m.Holds(k), ok && at < first; {
	case m.lost[k] && holds && !born:
		return m.trimmed
	case m.lost[k] && holds:
		return m.openTrimmed
	case m.lost[k] && !born:
		return m.vanished
	case m.lost[k]:
		return m.openTrimmed // it may have held versions at the Open
	case holds:
		return m.openTrimmed
	default:
		return m.openVanished
	}
}

// Commit records a commit of version v: each key of writes takes the
// value given, or is deleted (nil). v must be above every version before.
func (m *Model) Commit(v kv.Version, writes map[Key]*kv.Value) error {
	if v <= m.last {
		return fmt.Errorf("kvtest: commit of version %d after %d: versions must increase", v, m.last)
	}
	m.last = v
	for k, val := range writes {
		m.held(k, v)
		if val == nil {
			m.hist[k] = append(m.hist[k], Version{Version: v, Value: kv.Null(), Deleted: true})
		} else {
			m.hist[k] = append(m.hist[k], Version{Version: v, Value: *val})
		}
	}
	return nil
}

// Apply records the commit e predicted, of version v: its Writes, or
// its Fork (each key of Src live at At gets, in Dst, a record that reads
// as Src's key at At).
func (m *Model) Apply(v kv.Version, e Expect) error {
	if e.Fork == nil {
		if err := m.Commit(v, e.Writes); err != nil || !e.RunDrop {
			return err
		}
		for k := range e.Writes {
			m.hist[k][len(m.hist[k])-1].runDrop = true
		}
		return nil
	}
	f := *e.Fork
	keys := m.LiveKeys(f.Src, "", f.At)
	if err := m.Commit(v, nil); err != nil {
		return err
	}
	for _, k := range keys {
		dk := Key{f.Dst, k}
		m.held(dk, v)
		m.hist[dk] = append(m.hist[dk], Version{Version: v, Value: kv.Null(), link: &f})
	}
	m.forks = append(m.forks, fork{f, v})
	return nil
}

// History returns every version of k, newest first, as DB.History does:
// through a fork's record, the source's versions up to the fork's At,
// and nothing older of k's own.
func (m *Model) History(k Key) []Version {
	var out []Version
	h := m.hist[k]
	for i := len(h) - 1; i >= 0; i-- {
		if l := h[i].link; l != nil {
			for _, x := range m.History(Key{l.Src, k.Key}) {
				if x.Version <= l.At {
					out = append(out, x)
				}
			}
			break
		}
		out = append(out, h[i])
	}
	return out
}

// AtAny returns the newest version of k at or below at, deletions
// included.
func (m *Model) AtAny(k Key, at kv.Version) (Version, bool) {
	h := m.hist[k]
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Version <= at {
			if l := h[i].link; l != nil {
				return m.AtAny(Key{l.Src, k.Key}, l.At)
			}
			return h[i], true
		}
	}
	return Version{}, false
}

// At returns the value of k as of version at, if k was live then.
func (m *Model) At(k Key, at kv.Version) (Version, bool) {
	v, ok := m.AtAny(k, at)
	if !ok || v.Deleted {
		return Version{}, false
	}
	return v, true
}

// Live returns the newest value of k, if k is live.
func (m *Model) Live(k Key) (Version, bool) { return m.At(k, m.last) }

// LiveKeys returns the keys of run live as of version at that start
// with prefix, sorted (never nil).
func (m *Model) LiveKeys(run kv.RunID, prefix string, at kv.Version) []string {
	keys := []string{}
	for k := range m.hist {
		if k.Run == run && strings.HasPrefix(k.Key, prefix) {
			if _, ok := m.At(k, at); ok {
				keys = append(keys, k.Key)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// Keys returns every key with a version, sorted by run, then key.
func (m *Model) Keys() []Key {
	keys := make([]Key, 0, len(m.hist))
	for k := range m.hist {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys
}

// compareKeys orders keys by run, then key.
func compareKeys(a, b Key) int { return cmp.Or(cmp.Compare(a.Run, b.Run), cmp.Compare(a.Key, b.Key)) }

// Versions returns how many versions the model holds.
func (m *Model) Versions() int {
	n := 0
	for _, h := range m.hist {
		n += len(h)
	}
	return n
}

// Truncate drops every version above v: what a power loss took back of
// commits never made durable.
func (m *Model) Truncate(v kv.Version) {
	for k, h := range m.hist {
		i := len(h)
		for i > 0 && h[i-1].Version > v {
			i--
		}
		if i == 0 {
			delete(m.hist, k)
		} else {
			m.hist[k] = h[:i]
		}
	}
	m.forks = slices.DeleteFunc(m.forks, func(f fork) bool { return f.v > v })
	m.last = min(m.last, v)
}

// Compact applies what DB.Compact does under Retention{KeepVersions:
// keep}, written out independently of package compaction, and returns
// how many versions it dropped: each key keeps its keep newest versions,
// and a deletion left with nothing older goes too; a DropRun's deletion
// keeps the version it deleted, a fork's record is kept with all that is
// newer, and a key a fork links to keeps what reads at the fork need (as
// a reader's snapshot would). Reads below the
// oldest version kept (or below the dropped deletion) may then need
// what is gone (Trimmed). keep <= 0 keeps everything.
func (m *Model) Compact(keep int) int { return m.compact(keep) }

func (m *Model) compact(keep int) int {
	if keep <= 0 {
		return 0
	}
	// A key a fork's link points at keeps what reads at the fork's At
	// need (the oldest At of the forks from its run): a version is
	// dropped only if its successor is at or below that pin.
	pins := map[kv.RunID]kv.Version{}
	for _, f := range m.forks {
		if p, ok := pins[f.Src]; !ok || f.At < p {
			pins[f.Src] = f.At
		}
	}
	linked := map[Key]bool{}
	for k, h := range m.hist {
		for _, v := range h {
			if v.link != nil {
				linked[Key{v.link.Src, k.Key}] = true
			}
		}
	}
	dropped := 0
	for k, h := range m.hist {
		d := max(0, len(h)-keep)
		pin, pinned := pins[k.Run]
		pinned = pinned && linked[k]
		for j := range d {
			// A fork's record is kept, with all that is newer.
			if h[j].link != nil || (pinned && h[j+1].Version > pin) {
				d = j
				break
			}
		}
		if d == len(h)-1 && h[len(h)-1].Deleted {
			d = len(h)
		}
		if d > 0 && d < len(h) && h[d].runDrop {
			d-- // a DropRun's deletion keeps the version it deleted
		}
		if d == 0 {
			continue
		}
		clear := h[d-1].Version // a deletion dropped answers as before from its version on
		if d < len(h) && !h[d-1].Deleted {
			clear = h[d].Version
		}
		m.trimmed = max(m.trimmed, clear)
		if m.lost == nil {
			m.lost = map[Key]bool{}
		}
		m.lost[k] = true
		dropped += d
		if d == len(h) {
			m.vanished = max(m.vanished, clear)
			delete(m.hist, k)
		} else {
			m.hist[k] = slices.Clone(h[d:])
		}
	}
	return dropped
}

// Expect is what the model says an operation must do.
type Expect struct {
	// Writes are the commit's writes (nil value: a deletion); none: the
	// operation commits nothing.
	Writes map[Key]*kv.Value
	// OK is Delete's and the CAS calls' answer; N is MDelete's count and
	// Incr's new value.
	OK bool
	N  int64
	// Err is the error the operation must return (nil: none).
	Err error
	// Listed and Read are what an Update's transaction must see: the live
	// keys under its prefix, and Keys[0]'s value (Found: it is live).
	Listed []string
	Read   Version
	Found  bool
	// RunDrop: the Writes are a DropRun's deletions.
	RunDrop bool
	// Fork is a ForkRun's commit (Writes then list the values dst's keys
	// read as after it).
	Fork *Fork
}

// Predict returns what op must answer and write when it runs on the
// database the model describes. It is pure: the model changes only by
// Commit. Operations that are not calls of the kv API (Reopen, Crash,
// Sync, Compact, Check, GetAt) write nothing.
func (m *Model) Predict(op Op) Expect {
	var e Expect
	key := func(i int) Key { return Key{op.Run, op.Keys[i]} }
	switch op.Kind {
	case OpPut:
		e.Writes = map[Key]*kv.Value{key(0): &op.Values[0]}
	case OpDelete:
		if _, e.OK = m.Live(key(0)); e.OK {
			e.Writes = map[Key]*kv.Value{key(0): nil}
		}
	case OpMPut:
		e.Writes = map[Key]*kv.Value{}
		for i := range op.Keys {
			e.Writes[key(i)] = &op.Values[i] // the last value of a repeated key wins
		}
	case OpMDelete:
		e.Writes = map[Key]*kv.Value{}
		for i := range op.Keys {
			if _, live := m.Live(key(i)); live {
				e.Writes[key(i)] = nil
			}
		}
		e.N = int64(len(e.Writes))
	case OpIncr:
		cur, live := m.Live(key(0))
		n, isInt := cur.Value.AsInt()
		if live && !isInt {
			e.Err = kv.ErrWrongType
			break
		}
		if op.Delta > 0 && n > math.MaxInt64-op.Delta || op.Delta < 0 && n < math.MinInt64-op.Delta {
			e.Err = kv.ErrOverflow
			break
		}
		e.N = n + op.Delta
		v := kv.Int(e.N)
		e.Writes = map[Key]*kv.Value{key(0): &v}
	case OpCAS:
		cur, live := m.Live(key(0))
		expected := m.casExpected(op)
		if e.OK = (expected == 0 && !live) || (live && expected == cur.Version); e.OK {
			e.Writes = map[Key]*kv.Value{key(0): &op.Values[0]}
		}
	case OpUpdate:
		e.Listed = m.LiveKeys(op.Run, UpdatePrefix, m.last)
		e.Read, e.Found = m.Live(key(0))
		v := kv.Int(int64(len(e.Listed)))
		if e.Found {
			v = e.Read.Value
		}
		e.Writes = map[Key]*kv.Value{key(1): &v}
		if op.Drop {
			switch {
			case key(0) != key(1) && e.Found:
				e.Writes[key(0)] = nil
			case key(0) == key(1) && e.Found:
				e.Writes[key(0)] = nil // put, then delete: absent after
			case key(0) == key(1):
				delete(e.Writes, key(0)) // put, then delete of a key absent before: nothing written
			}
		}
	case OpDropRun:
		e.RunDrop = true
		e.Writes = map[Key]*kv.Value{}
		for _, k := range m.LiveKeys(op.Run, "", m.last) {
			e.Writes[Key{op.Run, k}] = nil
		}
	case OpForkRun:
		e = m.predictFork(op)
	}
	if len(e.Writes) == 0 {
		e.Writes = nil
	}
	return e
}

// predictFork is Predict of an OpForkRun.
func (m *Model) predictFork(op Op) Expect {
	var e Expect
	dst := kv.RunID(op.Keys[0])
	at := m.last // (an at of 0 means the latest, as in ForkRun)
	if a := kv.Version(op.At % (uint64(m.last) + 2)); a != 0 {
		at = min(a, m.last)
	}
	switch {
	case at > 0 && at < m.trimmed:
		e.Err = kv.ErrHistoryTrimmed
	case len(m.LiveKeys(dst, "", m.last)) > 0 || dst == op.Run:
		e.Err = kv.ErrInvalidRun
	default:
		e.Writes = map[Key]*kv.Value{}
		for _, k := range m.LiveKeys(op.Run, "", at) {
			v, _ := m.At(Key{op.Run, k}, at)
			e.Writes[Key{dst, k}] = &v.Value
		}
		if len(e.Writes) > 0 {
			e.Fork = &Fork{Src: op.Run, Dst: dst, At: at}
		}
	}
	return e
}

// casExpected is the version a CAS operation expects.
func (m *Model) casExpected(op Op) kv.Version {
	switch op.Expect {
	case ExpectCurrent:
		cur, _ := m.Live(Key{op.Run, op.Keys[0]})
		return cur.Version // 0 when absent
	case ExpectVersion:
		return kv.Version(op.At % (uint64(m.last) + 2))
	}
	return 0
}
