package kv

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/strata-kv/strata/segment"
)

// Txn is a transaction: reads see one snapshot (the last commit when the
// transaction began) plus the transaction's own writes. A Txn is used by
// one goroutine, and only inside the function given to Update, View or
// ViewAt: afterwards its methods return ErrClosed.
type Txn struct {
	db       *DB
	snap     uint64
	writable bool
	done     bool
	writes   map[string]*pendingWrite // by run + NUL + key
	reads    map[string]readKey       // keys whose state fn observed
	spans    []spanRead               // key intervals fn listed (Keys, Scan, Range)
}

type pendingWrite struct {
	run     RunID
	key     string
	value   Value
	enc     []byte
	deleted bool
}

type readKey struct {
	run RunID
	key string
}

func compositeKey(run RunID, key string) string { return string(run) + "\x00" + key }

var errNilFunc = errors.New("strata: nil transaction function")

var errTxnDone = fmt.Errorf("%w: transaction used after its function returned", ErrClosed)

func (tx *Txn) check(write bool) error {
	if tx.done {
		return errTxnDone
	}
	if write && !tx.writable {
		return fmt.Errorf("%w: View and ViewAt transactions cannot write", ErrReadOnly)
	}
	return nil
}

func (tx *Txn) noteRead(run RunID, key string) {
	if !tx.writable {
		return
	}
	if tx.reads == nil {
		tx.reads = map[string]readKey{}
	}
	tx.reads[compositeKey(run, key)] = readKey{run, key}
}

// Get returns the key's version in the transaction's view; ok is false if
// it is absent there. A value the transaction wrote itself comes back with
// Version 0 and a zero Timestamp: it has none until commit.
func (tx *Txn) Get(run RunID, key string) (Versioned, bool, error) {
	if err := tx.check(false); err != nil {
		return Versioned{}, false, err
	}
	if err := checkRunKey(run, key); err != nil {
		return Versioned{}, false, err
	}
	if p := tx.writes[compositeKey(run, key)]; p != nil {
		if p.deleted {
			return Versioned{}, false, nil
		}
		return Versioned{Value: p.value}, true, nil
	}
	tx.noteRead(run, key)
	v, ok, err := tx.db.getAt(run, key, tx.snap)
	if err == nil && !ok {
		err = tx.db.trimmedAt(tx.snap)
	}
	return v, ok, err
}

// Exists reports whether the key is live in the transaction's view.
func (tx *Txn) Exists(run RunID, key string) (bool, error) {
	if err := tx.check(false); err != nil {
		return false, err
	}
	if err := checkRunKey(run, key); err != nil {
		return false, err
	}
	return tx.exists(run, key), nil
}

func (tx *Txn) exists(run RunID, key string) bool {
	if p := tx.writes[compositeKey(run, key)]; p != nil {
		return !p.deleted
	}
	tx.noteRead(run, key)
	_, ok := tx.db.live(run, key, tx.snap)
	return ok
}

// Keys is DB.Keys in the transaction's view. In an Update, the listed
// prefix joins the read set: a commit by another writer under it makes
// this transaction conflict.
func (tx *Txn) Keys(run RunID, prefix string, limit int) ([]string, error) {
	if err := tx.check(false); err != nil {
		return nil, err
	}
	keys, err := tx.db.keys(run, prefix, limit, tx.snapshot, tx)
	if err == nil {
		tx.notePrefix(run, prefix)
	}
	return keys, err
}

// Scan is DB.Scan in the transaction's view; keys the transaction wrote
// come back with Version 0. In an Update the prefix joins the read set.
func (tx *Txn) Scan(run RunID, prefix string, limit int, cursor string) (Page, error) {
	if err := tx.check(false); err != nil {
		return Page{}, err
	}
	page, err := tx.db.scan(run, prefix, limit, cursor, tx.snapshot, tx)
	if err == nil {
		tx.notePrefix(run, prefix)
	}
	return page, err
}

func (tx *Txn) snapshot() uint64 { return tx.snap }

func (tx *Txn) notePrefix(run RunID, prefix string) {
	if tx.writable {
		tx.spans = append(tx.spans, spanRead{run, span{lo: prefix, hi: prefixEnd(prefix)}})
	}
}

// Put writes a value in the transaction. It is checked at once: an
// invalid run, key or value returns the error here.
func (tx *Txn) Put(run RunID, key string, v Value) error {
	if err := tx.check(true); err != nil {
		return err
	}
	if err := checkRunKey(run, key); err != nil {
		return err
	}
	return tx.put("put", run, key, v)
}

// put buffers a write of a checked run and key.
func (tx *Txn) put(op string, run RunID, key string, v Value) error {
	enc, err := tx.db.encodeValue(nil, v)
	if err != nil {
		return keyErr(op, run, key, err)
	}
	tx.write(&pendingWrite{run: run, key: key, value: v, enc: enc})
	return nil
}

// Delete deletes a key in the transaction and reports whether it was live
// in the transaction's view. Since that answer is a read, a key deleted
// this way joins the read set (unless the transaction wrote it before).
func (tx *Txn) Delete(run RunID, key string) (bool, error) {
	if err := tx.check(true); err != nil {
		return false, err
	}
	if err := checkRunKey(run, key); err != nil {
		return false, err
	}
	live := tx.exists(run, key)
	if live {
		tx.write(&pendingWrite{run: run, key: key, deleted: true})
	}
	return live, nil
}

func (tx *Txn) write(p *pendingWrite) {
	if tx.writes == nil {
		tx.writes = map[string]*pendingWrite{}
	}
	tx.writes[compositeKey(p.run, p.key)] = p
}

// pendingIn returns the transaction's writes to keys of sp in run, in
// the walk's order (ascending, or descending if sp.reverse).
func (tx *Txn) pendingIn(run RunID, sp span) []*pendingWrite {
	var out []*pendingWrite
	for _, p := range tx.writes {
		if p.run != run || p.key < sp.lo || (sp.hi != "" && p.key >= sp.hi) {
			continue
		}
		if sp.after != "" && (!sp.reverse && p.key <= sp.after || sp.reverse && p.key >= sp.after) {
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *pendingWrite) int { return strings.Compare(a.key, b.key) })
	if sp.reverse {
		slices.Reverse(out)
	}
	return out
}

// Update runs fn in a read-write transaction and commits its writes
// atomically under one version, which it returns. fn is called once and
// never retried. If fn returns an error, nothing is written and that
// error is returned. The commit is serializable: if any key fn read, or
// any prefix it listed, changed after the snapshot, nothing is written
// and the error satisfies errors.Is(err, ErrConflict). Writes to keys fn
// did not read never conflict: the later commit wins. A transaction
// without writes returns (0, nil). fn may call db's methods; they see
// committed state, not the transaction's writes.
func (db *DB) Update(fn func(tx *Txn) error) (Version, error) {
	if fn == nil {
		return 0, errNilFunc
	}
	if err := db.beginWrite(); err != nil {
		return 0, err
	}
	defer db.leave()
	// The snapshot as View's (a trimmed one, after a salvage, is read
	// all the same, as before pinAt), its pin removed whatever fn does
	// (a panic that left it would keep compaction from ever dropping what
	// was superseded after it), but only once the commit is decided:
	// validation finds a change to what fn read in the index, and a
	// compaction free to drop what the snapshot read could drop a key
	// deleted since, tombstone and all, and with it the conflict.
	tx := &Txn{db: db, writable: true}
	tx.snap, _ = db.pinAt(math.MaxUint64)
	defer db.pins.remove(tx.snap)
	if err := db.runTxn(fn, tx); err != nil {
		return 0, err
	}
	if len(tx.writes) == 0 {
		return 0, nil
	}
	var deletes []*pendingWrite
	r := &commitReq{comp: &db.comp}
	all := make([]*pendingWrite, 0, len(tx.writes))
	for _, p := range tx.writes {
		all = append(all, p)
	}
	slices.SortFunc(all, func(a, b *pendingWrite) int {
		return strings.Compare(compositeKey(a.run, a.key), compositeKey(b.run, b.key))
	})
	for _, p := range all {
		if p.deleted {
			deletes = append(deletes, p)
			continue
		}
		r.add(segment.OpPut, string(p.run), p.key, p.enc)
	}
	if err := checkSize(r); err != nil {
		return 0, err
	}
	puts := len(r.ents)
	r.decide = func(r *commitReq) error {
		if err := tx.validate(); err != nil {
			return err
		}
		r.truncate(puts)
		for _, p := range deletes {
			if _, ok := db.newestLive(p.run, p.key); ok {
				r.add(segment.OpDelete, string(p.run), p.key, nil)
			}
		}
		return nil
	}
	if err := db.commit(r); err != nil {
		return 0, fmt.Errorf("update: %w", err)
	}
	return Version(r.version), nil
}

// validate checks, in the commit leader, that nothing the transaction
// read changed after its snapshot.
func (tx *Txn) validate() error {
	for _, rk := range tx.reads {
		if c, ok := tx.db.ix.Find(string(rk.run), rk.key); ok {
			if v := c.Changed(); v > tx.snap {
				return fmt.Errorf("%w: run %s key %s changed at version %d, after the snapshot at %d",
					ErrConflict, clip(string(rk.run)), clip(rk.key), v, tx.snap)
			}
		}
	}
	for _, s := range tx.spans {
		if key, v := tx.db.changedIn(s.run, s.sp, tx.snap); v != 0 {
			return fmt.Errorf("%w: run %s key %s in a listed range or prefix changed at version %d, after the snapshot at %d",
				ErrConflict, clip(string(s.run)), clip(key), v, tx.snap)
		}
	}
	return nil
}

// View runs fn in a read-only transaction at the newest version. Put and
// Delete return ErrReadOnly.
func (db *DB) View(fn func(tx *Txn) error) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	return db.view(math.MaxUint64, fn)
}

// ViewAt runs fn in a read-only transaction that sees the whole database
// as it was at version at: Get, Keys and Scan all read that point in time.
// at == 0 is the empty database; an at above LastVersion reads the latest.
// If compaction has dropped history reads at at need (see Retention), it
// returns ErrHistoryTrimmed without calling fn; while fn runs, compaction
// keeps what it reads.
func (db *DB) ViewAt(at Version, fn func(tx *Txn) error) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	return db.view(uint64(at), fn)
}

// view runs fn in a read-only transaction at min(at, the newest visible
// version).
func (db *DB) view(at uint64, fn func(tx *Txn) error) error {
	if fn == nil {
		return errNilFunc
	}
	snap, err := db.pinAt(at)
	defer db.pins.remove(snap)
	if err != nil {
		return err
	}
	return db.runTxn(fn, &Txn{db: db, snap: snap})
}

// pinAt pins the snapshot a read at version at takes, min(at, the
// newest visible version), and returns it with what trimmedAt says of
// it; the caller removes the pin either way. Pinned first and checked
// after, a snapshot compaction had trimmed shows in the horizon, and
// one it trims later is kept. A read of the latest (at above the newest
// visible version) may find its snapshot trimmed between the load and
// the pin, by a compaction that dropped versions a commit since then
// superseded: it then takes the newest visible version again, which
// compaction cannot have trimmed, unless that has not moved (a salvage
// can leave the horizon above it: see Open), so that it never gets
// ErrHistoryTrimmed from that race and never waits for a commit.
func (db *DB) pinAt(at uint64) (uint64, error) {
	var last uint64
	for i := 0; ; i++ {
		v := db.visible.Load()
		snap := min(at, v)
		db.pins.add(snap)
		err := db.trimmedAt(snap)
		if err == nil || snap == at || i > 0 && v == last {
			return snap, err
		}
		db.pins.remove(snap)
		last = v
	}
}

// trimmedAt returns ErrHistoryTrimmed if compaction may have dropped
// history a read at snap needs.
func (db *DB) trimmedAt(snap uint64) error {
	// At 0, the empty database, no history is needed.
	if h := db.trimmed.Load(); snap < h && snap > 0 {
		return fmt.Errorf("%w: reads at version %d need history compaction dropped (retention keeps what reads from version %d on need)", ErrHistoryTrimmed, snap, h)
	}
	return nil
}

// absentAt returns ErrHistoryTrimmed if a read at snap that finds no
// version of a key (not even a tombstone) may be missing one compaction
// dropped (see DB.GetAt). What compaction dropped since Open is in the
// index: a key's chain ends at a dropped record (index.Chain.Trimmed),
// and the horizon (or vanished, for a key it dropped whole) bounds the
// reads that may need it. What it dropped before Open is known only
// through the horizon and vanished Open found, which bound every key's
// reads.
func (db *DB) absentAt(run RunID, key string, snap uint64) error {
	c, _ := db.ix.Find(string(run), key) // the zero Chain if not found
	if _, ok := c.At(snap); ok {
		return nil // a tombstone answers
	}
	// The loads of the horizon and vanished come after c showed a drop:
	// a compaction stores them before it drops anything from the index.
	// What the key lost since Open answers no read below its first
	// version since Open (born): there only what was dropped before
	// Open may, as for a key that held versions at Open (it may have).
	born := c.First() > snap
	var h uint64
	switch {
	case c.Changed() != 0: // versions kept, all above snap
		h = db.openTrimmed
		if c.Trimmed() && !born {
			h = db.trimmed.Load()
		}
	case c.ID() != 0: // every version dropped since Open
		h = db.vanished.Load()
		if born {
			h = db.openTrimmed
		}
	default: // not in the index: if dropped, before Open
		h = db.openVanished
	}
	if snap < h && snap > 0 {
		return fmt.Errorf("%w: reads at version %d of this key may need history compaction dropped (retention keeps what reads from version %d on need)", ErrHistoryTrimmed, snap, h)
	}
	return nil
}

// runTxn runs a transaction function and ends the transaction.
func (db *DB) runTxn(fn func(tx *Txn) error, tx *Txn) error {
	db.txns.Add(1)
	defer func() {
		tx.done = true
		db.txns.Add(-1)
	}()
	return runTxnFunc(fn, tx)
}
