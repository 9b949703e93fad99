package kv

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/segment"
)

func (db *DB) versioned(t *segTable, r index.Record) (Versioned, error) {
	v, err := db.readValue(t, r)
	if err != nil {
		return Versioned{}, err
	}
	return Versioned{
		Value:     v,
		Version:   Version(r.Version),
		Timestamp: time.UnixMicro(r.Timestamp).UTC(),
		Deleted:   r.Tombstone(),
	}, nil
}

// live returns the newest version of (run, key) at or below snap, unless
// the key is absent there (never written, or deleted).
func (db *DB) live(run RunID, key string, snap uint64) (index.Record, bool) {
	r, ok := db.ix.Get(string(run), key, snap)
	if !ok || r.Tombstone() {
		return index.Record{}, false
	}
	return r, true
}

// newestLive is live at the newest state, versions not yet visible
// included: what the commit leader decides on.
func (db *DB) newestLive(run RunID, key string) (index.Record, bool) {
	c, ok := db.ix.Find(string(run), key)
	if !ok {
		return index.Record{}, false
	}
	r, ok := c.Newest()
	if !ok || r.Tombstone() {
		return index.Record{}, false
	}
	return r, true
}

func keyErr(op string, run RunID, key string, err error) error {
	return fmt.Errorf("%s run %s key %s: %w", op, clip(string(run)), clip(key), err)
}

// Get returns the newest version of a key. ok is false when the key is
// absent (never written, or deleted).
func (db *DB) Get(run RunID, key string) (Versioned, bool, error) {
	if err := checkRunKey(run, key); err != nil {
		return Versioned{}, false, err
	}
	if err := db.enter(); err != nil {
		return Versioned{}, false, err
	}
	defer db.leave()
	for {
		snap := db.visible.Load()
		v, ok, err := db.getAt(run, key, snap)
		if ok || err != nil || !db.readAgain(snap) {
			return v, ok, err
		}
	}
}

// readAgain reports whether a read of the newest state, at snap (loaded
// from visible, with no pin), must be done again at a newer snapshot,
// once it has read the index: a compaction may have dropped, while it
// read, the version that answered at snap for some key, which then
// looked absent. A compaction drops a key's newest version at snap only
// once a newer one has committed (the newest is always kept), and it
// stores the trim horizon, past snap then, before it changes the index:
// so the read is good if the horizon is not past snap, or if nothing has
// committed since snap. A key the read found is right either way (a
// compaction drops only a key's oldest versions, so what answers at snap
// is kept or none below it is). Reads that pin their snapshot (a
// transaction's, ViewAt, HistoryFunc, ScanFunc) need no second read: a
// compaction that would drop what they read is abandoned.
func (db *DB) readAgain(snap uint64) bool {
	return db.trimmedAt(snap) != nil && db.visible.Load() != snap
}

func (db *DB) getAt(run RunID, key string, snap uint64) (Versioned, bool, error) {
	t := db.segs.Load()
	r, ok := db.live(run, key, snap)
	if !ok {
		return Versioned{}, false, nil
	}
	v, err := db.versioned(t, r)
	if err != nil {
		return Versioned{}, false, keyErr("get", run, key, err)
	}
	return v, true, nil
}

// GetAt returns the newest version with Version <= at (an at above
// LastVersion reads the latest). If the key is absent as of at (not yet
// written, or deleted) it returns ErrNotFound; if compaction dropped the
// version that answered at (outside Retention), ErrHistoryTrimmed.
//
// Where nothing kept answers (not even a deletion, which says
// ErrNotFound), what was dropped decides. What compaction dropped since
// this Open is known key by key: a key that lost versions since says
// ErrHistoryTrimmed below the trim horizon (below its deletion if it
// went whole), any other key ErrNotFound. What it dropped before this
// Open is known only through the horizon, and through the newest
// deletion among the keys it removed whole: below those, a key that
// lost nothing since, with versions kept (all above at), says
// ErrHistoryTrimmed, as does one with none kept below that deletion,
// even if the key had no version at at. So after a reopen some answers
// that were ErrNotFound may become ErrHistoryTrimmed, never the reverse.
func (db *DB) GetAt(run RunID, key string, at Version) (Versioned, error) {
	if err := checkRunKey(run, key); err != nil {
		return Versioned{}, err
	}
	if err := db.enter(); err != nil {
		return Versioned{}, err
	}
	defer db.leave()
	snap := min(uint64(at), db.visible.Load())
	v, ok, err := db.getAt(run, key, snap)
	for !ok && err == nil && snap < uint64(at) && db.readAgain(snap) {
		// at is above the version read, the newest then: it reads the
		// latest, which a compaction may have just made unreadable at
		// snap (see readAgain).
		snap = min(uint64(at), db.visible.Load())
		v, ok, err = db.getAt(run, key, snap)
	}
	if err != nil {
		return Versioned{}, err
	}
	if !ok {
		// A tombstone answering at says the key was deleted, whatever
		// compaction dropped before it; with no version at or below at,
		// the answer may be gone.
		if err := db.absentAt(run, key, snap); err != nil {
			return Versioned{}, keyErr("get", run, key, err)
		}
		return Versioned{}, keyErr("get", run, key, fmt.Errorf("%w at version %d", ErrNotFound, at))
	}
	return v, nil
}

// Exists reports whether a key is live.
func (db *DB) Exists(run RunID, key string) (bool, error) {
	if err := checkRunKey(run, key); err != nil {
		return false, err
	}
	if err := db.enter(); err != nil {
		return false, err
	}
	defer db.leave()
	for {
		snap := db.visible.Load()
		if _, ok := db.live(run, key, snap); ok || !db.readAgain(snap) {
			return ok, nil
		}
	}
}

// History returns the versions of a key, newest first, tombstones
// included (Deleted set, Value Null). limit <= 0 returns all; before == 0
// sets no bound, otherwise only versions below before are returned, so
// the last version of one page is the before of the next. An unknown key
// gives an empty slice and no error. A key of a run made by ForkRun shows
// the versions written to it since the fork, then its source's up to the
// fork (see ForkRun).
func (db *DB) History(run RunID, key string, limit int, before Version) ([]Versioned, error) {
	if err := checkRunKey(run, key); err != nil {
		return nil, err
	}
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	t := db.segs.Load()
	c, ok := db.ix.Find(string(run), key)
	if !ok {
		return []Versioned{}, nil
	}
	var small [16]index.Record // most histories asked for fit
	recs := small[:0]
	for {
		// A compaction may drop, while the walk goes, the version that
		// answered at snap, and the versions a newer snapshot sees are
		// kept (see readAgain).
		snap := db.visible.Load()
		recs = recs[:0]
		c.Versions(snap, func(r index.Record) bool {
			if before != 0 && r.Version >= uint64(before) {
				return true
			}
			recs = append(recs, r)
			return limit <= 0 || len(recs) < limit
		})
		if !db.readAgain(snap) {
			break
		}
	}
	out := make([]Versioned, len(recs))
	for i, r := range recs {
		out[i] = Versioned{
			Version:   Version(r.Version),
			Timestamp: time.UnixMicro(r.Timestamp).UTC(),
			Deleted:   r.Tombstone(),
		}
	}
	if err := db.readValuesInto(t, recs, nil, func(i int) *Value { return &out[i].Value }); err != nil {
		return nil, keyErr("history", run, key, err)
	}
	return out, nil
}

// MGet reads keys at one snapshot and returns their newest versions in
// the same order, nil for absent keys. Any invalid key fails the whole
// call.
func (db *DB) MGet(run RunID, keys []string) ([]*Versioned, error) {
	if err := checkRunKeys(run, keys); err != nil {
		return nil, err
	}
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	out := make([]*Versioned, len(keys))
	for {
		snap := db.visible.Load()
		clear(out)
		for i, k := range keys {
			v, ok, err := db.getAt(run, k, snap)
			if err != nil {
				return nil, err
			}
			if ok {
				out[i] = &v
			}
		}
		if !db.readAgain(snap) {
			return out, nil
		}
	}
}

// MExists counts the distinct keys among keys that are live, at one
// snapshot.
func (db *DB) MExists(run RunID, keys []string) (int, error) {
	if err := checkRunKeys(run, keys); err != nil {
		return 0, err
	}
	if err := db.enter(); err != nil {
		return 0, err
	}
	defer db.leave()
	seen := make(map[string]bool, len(keys))
	for {
		snap := db.visible.Load()
		clear(seen)
		n := 0
		for _, k := range keys {
			if seen[k] {
				continue
			}
			seen[k] = true
			if _, ok := db.live(run, k, snap); ok {
				n++
			}
		}
		if !db.readAgain(snap) {
			return n, nil
		}
	}
}

// Keys lists the live keys of a run with the prefix, ascending bytewise.
// prefix == "" lists all; limit <= 0 means no limit.
func (db *DB) Keys(run RunID, prefix string, limit int) ([]string, error) {
	return db.keys(run, prefix, limit, db.visible.Load, nil)
}

// Scan returns a page of the live keys of a run with the prefix and their
// newest versions, ascending bytewise. limit <= 0 gives pages of 100.
// Pass the returned Cursor to get the next page: paging visits every key
// that stays live throughout exactly once, in order, even while other
// keys are written or deleted. Cursor is "" exactly when no key follows
// the page. A cursor Scan did not produce for this run and prefix gets
// ErrInvalidKey.
func (db *DB) Scan(run RunID, prefix string, limit int, cursor string) (Page, error) {
	return db.scan(run, prefix, limit, cursor, db.visible.Load, nil)
}

func (db *DB) keys(run RunID, prefix string, limit int, snap func() uint64, tx *Txn) ([]string, error) {
	if err := checkPrefix(run, prefix); err != nil {
		return nil, err
	}
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	for {
		out := []string{}
		at := snap()
		var mem arena
		db.walk(run, prefix, "", at, tx, func(key string, _ index.Record, _ *pendingWrite) bool {
			out = append(out, mem.str(key))
			return limit <= 0 || len(out) < limit
		})
		if tx != nil {
			if err := db.trimmedAt(at); err != nil {
				return nil, err
			}
		} else if db.readAgain(at) {
			continue
		}
		return out, nil
	}
}

// DefaultScanLimit is the page size of a Scan called with limit <= 0.
const DefaultScanLimit = 100

func (db *DB) scan(run RunID, prefix string, limit int, cursor string, snap func() uint64, tx *Txn) (Page, error) {
	if err := checkPrefix(run, prefix); err != nil {
		return Page{}, err
	}
	after, err := decodeCursor(run, prefix, cursor)
	if err != nil {
		return Page{}, err
	}
	if err := db.enter(); err != nil {
		return Page{}, err
	}
	defer db.leave()
	page, _, err := db.collect(run, span{lo: prefix, hi: prefixEnd(prefix), after: after}, limit, snap, tx, "scan")
	if err != nil || page.Cursor == "" {
		return page, err
	}
	page.Cursor = encodeCursor(run, prefix, page.Entries[len(page.Entries)-1].Key)
	return page, nil
}

// span is the keys a listing covers: [lo, hi) ("" hi: no bound), and of
// those, after a cursor, only the keys after `after` (before it, in
// reverse).
type span struct {
	lo, hi  string
	after   string
	reverse bool
}

// recsPool holds the record slices of scan pages; one grown beyond
// maxPooled entries is not put back.
var recsPool = sync.Pool{New: func() any { return new([]index.Record) }}

// collect reads a page of at most limit (<= 0: DefaultScanLimit) live
// keys of sp at the snapshot snapOf gives, and their values; Cursor is
// set to a non-empty placeholder when more keys follow (the caller
// encodes it), and returns what follows the page. op names the call in
// errors.
func (db *DB) collect(run RunID, sp span, limit int, snapOf func() uint64, tx *Txn, op string) (Page, following, error) {
	for {
		snap := snapOf()
		page, next, err := db.collectAt(run, sp, limit, snap, tx, op)
		// A transaction's snapshot is pinned, and collectAt checks it.
		if err != nil || tx != nil || !db.readAgain(snap) {
			return page, next, err
		}
	}
}

// following says whether a key follows a full page (what a listing's
// Cursor stands for) and, in a transaction, which (key) and whether it is
// the transaction's own write (own).
type following struct {
	more bool
	key  string
	own  bool
}

// collectAt is collect at snap.
func (db *DB) collectAt(run RunID, sp span, limit int, snap uint64, tx *Txn, op string) (Page, following, error) {
	if limit <= 0 {
		limit = DefaultScanLimit
	}
	// Collect the page's keys first, then read their values together,
	// straight into the page (few allocations: the garbage collector's
	// work is most of a scan's cost after the cache misses).
	n := min(limit, DefaultScanLimit)
	page := Page{Entries: make([]Entry, 0, n)}
	var recs []index.Record
	if n <= maxPooled {
		rp := recsPool.Get().(*[]index.Record)
		recs = (*rp)[:0]
		defer func() {
			if cap(recs) <= maxPooled {
				*rp = recs[:0] // grown, kept for the next page
			}
			recsPool.Put(rp)
		}()
	}
	var own []int // entries the transaction's own writes answer
	var next following
	t := db.segs.Load()
	var keys arena // the page's keys, in one allocation or a few
	db.walkSpan(run, sp, snap, tx, func(key string, r index.Record, p *pendingWrite) bool {
		if len(page.Entries) == limit {
			next = following{more: true, own: p != nil}
			if tx != nil {
				next.key = strings.Clone(key) // a view of the index's memory
			}
			return false
		}
		if len(page.Entries) == 0 {
			keys.reserve(min(len(key)*n, 16<<10)) // most pages' keys are alike in length
		}
		// The entry is filled in place, field by field: an Entry is 96
		// bytes, and appending one built aside copied it whole (with
		// write barriers while the collector runs). Within the capacity
		// made above, the new entry is zero already.
		i := len(page.Entries)
		if i < cap(page.Entries) {
			page.Entries = page.Entries[:i+1]
		} else {
			page.Entries = append(page.Entries, Entry{})
		}
		e := &page.Entries[i]
		e.Key = keys.str(key)
		if p != nil {
			own = append(own, i)
			e.Value = p.value
			r = index.Record{Flags: index.FlagTombstone} // nothing to read
		} else {
			e.Version = Version(r.Version)
			e.Timestamp = time.UnixMicro(r.Timestamp).UTC()
		}
		recs = append(recs, r)
		return true
	})
	if tx != nil {
		if err := db.trimmedAt(snap); err != nil {
			return Page{}, following{}, err
		}
	}
	isOwn := func(i int) bool { _, ok := slices.BinarySearch(own, i); return ok }
	var scratch Value
	err := db.readValuesInto(t, recs, nil, func(i int) *Value {
		if isOwn(i) {
			return &scratch // keeps the transaction's value
		}
		return &page.Entries[i].Value
	})
	if err != nil {
		var ce *CorruptError
		key := ""
		if errors.As(err, &ce) {
			for i, e := range page.Entries {
				if !isOwn(i) && recs[i].Field == ce.Offset && filepath.Base(ce.File) == segment.FileName(recs[i].Segment) {
					key = e.Key
					break
				}
			}
		}
		return Page{}, following{}, keyErr(op, run, key, err)
	}
	if next.more {
		page.Cursor = "more"
	}
	return page, next, nil
}

// prefixEnd returns the least string above every string with the prefix
// ("" if there is none: the prefix is empty or all 0xff bytes).
func prefixEnd(prefix string) string {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] < 0xff {
			return prefix[:i] + string([]byte{prefix[i] + 1})
		}
	}
	return ""
}

// walk calls fn, in key order, for each key of run with the prefix that
// sorts after `after` and is live at snap, with the transaction's pending
// writes (if tx is not nil) laid over the snapshot (see walkSpan).
func (db *DB) walk(run RunID, prefix, after string, snap uint64, tx *Txn, fn func(string, index.Record, *pendingWrite) bool) {
	db.walkSpan(run, span{lo: prefix, hi: prefixEnd(prefix), after: after}, snap, tx, fn)
}

// walkSpan calls fn for each key of sp live at snap, in key order
// (descending if sp.reverse), with the transaction's pending writes (if
// tx is not nil) laid over the snapshot: for a key the transaction
// wrote, fn gets the pending write; otherwise the record. It stops when
// fn returns false.
// The key fn gets is valid only during the call (it may view the
// index's memory): fn copies what it keeps.
func (db *DB) walkSpan(run RunID, sp span, snap uint64, tx *Txn, fn func(string, index.Record, *pendingWrite) bool) {
	var overlay []*pendingWrite
	if tx != nil {
		overlay = tx.pendingIn(run, sp)
	}
	// in reports whether key is in sp (inside its bounds, past after);
	// done whether the walk has gone beyond it.
	in := func(key string) bool {
		if sp.reverse {
			return key >= sp.lo && (sp.after == "" || key < sp.after) && (sp.hi == "" || key < sp.hi)
		}
		return key >= sp.lo && (sp.after == "" || key > sp.after) && (sp.hi == "" || key < sp.hi)
	}
	var it index.Iterator
	if sp.reverse {
		end := sp.hi
		if sp.after != "" && (end == "" || sp.after < end) {
			end = sp.after
		}
		it = db.ix.SeekLT(string(run), end)
	} else {
		it = db.ix.Seek(string(run), max(sp.lo, sp.after))
	}
	// before reports whether a comes before b in the walk's order.
	before := func(a, b string) bool {
		if sp.reverse {
			return a > b
		}
		return a < b
	}
	step := it.Next
	if sp.reverse {
		step = it.Prev
	}
	oi := 0
	for {
		ik, iok := "", it.Valid()
		if iok {
			ik = it.Chain().KeyView() // copied below if fn gets it
			if !in(ik) {
				if sp.reverse && ik >= sp.lo || !sp.reverse && ik <= sp.after {
					step() // not yet in sp (only at the start of the walk)
					continue
				}
				iok = false
			}
		}
		ook := oi < len(overlay)
		if !iok && !ook {
			return
		}
		if ook && (!iok || !before(ik, overlay[oi].key)) {
			p := overlay[oi]
			oi++
			if iok && p.key == ik {
				step()
			}
			if !p.deleted && !fn(p.key, index.Record{}, p) {
				return
			}
			continue
		}
		r, found := it.Chain().At(snap)
		step()
		if found && !r.Tombstone() && !fn(ik, r, nil) {
			return
		}
	}
}
