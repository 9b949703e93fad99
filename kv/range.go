package kv

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// RangeOptions say which keys Range lists.
type RangeOptions struct {
	Start, End string // keys in [Start, End); "" = unbounded on that side
	Reverse    bool   // descending
	Limit      int    // <= 0: a default page of 100
	Cursor     string // from the previous Page of the same run and options
}

// Change is a version committed to a key, as Changes and Diff return
// them.
type Change struct {
	Key       string
	Versioned // the version written (Deleted for a deletion)
}

// Range returns a page of the live keys of run in [r.Start, r.End), with
// their newest versions, ascending (descending with r.Reverse). It pages
// as Scan does: pass the returned Cursor, with the same options, to get
// the next page; every key that stays live throughout is visited exactly
// once, and Cursor is "" exactly when no key follows the page. A Start
// after End, or a cursor Range did not make for this run and these
// bounds, gets ErrInvalidKey.
func (db *DB) Range(run RunID, r RangeOptions) (Page, error) {
	page, _, _, err := db.rangePage(run, r, db.visible.Load, nil)
	return page, err
}

// Range is DB.Range in the transaction's view; keys the transaction wrote
// come back with Version 0. In an Update, the key interval the page
// covered joins the read set: a commit by another writer that changes,
// adds or deletes a key in it makes this transaction conflict.
func (tx *Txn) Range(run RunID, r RangeOptions) (Page, error) {
	if err := tx.check(false); err != nil {
		return Page{}, err
	}
	page, covered, next, err := tx.db.rangePage(run, r, tx.snapshot, tx)
	if err == nil && tx.writable {
		tx.spans = append(tx.spans, spanRead{run, covered})
		// The page's Cursor says a key follows it: that key is read too
		// (a change to it conflicts, an insert before it does not), but
		// for the transaction's own write, which no commit changes.
		if next.more && !next.own {
			tx.noteRead(run, next.key)
		}
	}
	return page, err
}

// rangePage reads a page of Range and returns the key interval it
// covered and the key that follows the page, if it is full (for a
// transaction's read set).
func (db *DB) rangePage(run RunID, r RangeOptions, snap func() uint64, tx *Txn) (Page, span, following, error) {
	if err := checkRun(run); err != nil {
		return Page{}, span{}, following{}, err
	}
	for _, b := range []string{r.Start, r.End} {
		if b != "" {
			if err := checkKey(b); err != nil {
				return Page{}, span{}, following{}, fmt.Errorf("range bound: %w", err)
			}
		}
	}
	if r.Start != "" && r.End != "" && r.Start > r.End {
		return Page{}, span{}, following{}, fmt.Errorf("%w: range start %s is after its end %s", ErrInvalidKey, clip(r.Start), clip(r.End))
	}
	sp := span{lo: r.Start, hi: r.End, reverse: r.Reverse}
	var err error
	if sp.after, err = decodeRangeCursor(run, r, r.Cursor); err != nil {
		return Page{}, span{}, following{}, err
	}
	if err := db.enter(); err != nil {
		return Page{}, span{}, following{}, err
	}
	defer db.leave()
	page, next, err := db.collect(run, sp, r.Limit, snap, tx, "range")
	if err != nil {
		return Page{}, span{}, following{}, err
	}
	// The interval covered: from the cursor (or the bound) to the last
	// key listed when more follow, else to the other bound.
	covered := span{lo: sp.lo, hi: sp.hi}
	switch {
	case !sp.reverse && sp.after != "":
		covered.lo = sp.after + "\x00"
	case sp.reverse && sp.after != "":
		covered.hi = sp.after
	}
	if next.more {
		last := page.Entries[len(page.Entries)-1].Key
		page.Cursor = encodeRangeCursor(run, r, last)
		if sp.reverse {
			covered.lo = last
		} else {
			covered.hi = last + "\x00"
		}
	}
	return page, covered, next, nil
}

// A Range cursor is a Scan cursor (see cursor.go) of format 2 whose tag
// covers the run, both bounds and the direction.
const rangeCursorFormat = 2

func rangeTag(run RunID, r RangeOptions, last string) uint64 {
	var d xxhash.Digest
	d.Reset()
	dir := "f"
	if r.Reverse {
		dir = "r"
	}
	for _, s := range []string{string(run), r.Start, r.End, dir, last} {
		d.WriteString(s)
		d.Write([]byte{0})
	}
	return d.Sum64()
}

func encodeRangeCursor(run RunID, r RangeOptions, last string) string {
	b := make([]byte, 9, 9+len(last))
	b[0] = rangeCursorFormat
	binary.LittleEndian.PutUint64(b[1:], rangeTag(run, r, last))
	b = append(b, last...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeRangeCursor returns the key a Range cursor continues from ("" for
// the empty cursor).
func decodeRangeCursor(run RunID, r RangeOptions, cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) < 10 || b[0] != rangeCursorFormat || binary.LittleEndian.Uint64(b[1:]) != rangeTag(run, r, string(b[9:])) {
		return "", fmt.Errorf("%w: cursor %s was not made by Range for run %s and these bounds", ErrInvalidKey, clip(cursor), clip(string(run)))
	}
	last := string(b[9:])
	if checkKey(last) != nil || last < r.Start || (r.End != "" && last >= r.End) {
		return "", fmt.Errorf("%w: damaged cursor %s", ErrInvalidKey, clip(cursor))
	}
	return last, nil
}

// spanRead is a key interval a transaction listed with Range.
type spanRead struct {
	run RunID
	sp  span
}

// changedIn returns the first key of sp in run whose newest version is
// above snap ("" if none): a commit after the snapshot wrote it.
func (db *DB) changedIn(run RunID, sp span, snap uint64) (string, uint64) {
	for it := db.ix.Seek(string(run), sp.lo); it.Valid(); it.Next() {
		c := it.Chain()
		if sp.hi != "" && c.KeyView() >= sp.hi {
			break
		}
		if v := c.Changed(); v > snap {
			return c.Key(), v
		}
	}
	return "", 0
}

// Runs returns the runs that hold a live key, ascending.
func (db *DB) Runs() ([]RunID, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	for {
		snap := db.visible.Load()
		runs := []RunID{}
		for _, run := range db.ix.Runs() {
			if internalRun(run) {
				continue
			}
			for it := db.ix.Seek(run, ""); it.Valid(); it.Next() {
				if r, ok := it.Chain().At(snap); ok && !r.Tombstone() {
					runs = append(runs, RunID(run))
					break
				}
			}
		}
		if !db.readAgain(snap) {
			slices.Sort(runs)
			return runs, nil
		}
	}
}

// WaitFor returns once LastVersion() >= v: at once if it already is.
// It returns ctx's error if ctx ends first, and ErrClosed if the DB is
// closed (or closes) first. With Changes, it makes a change feed:
//
//	for after := start; ; {
//		last := db.LastVersion() // read before Changes
//		cs, err := db.Changes(run, "", after, 0)
//		... handle cs; after = the last one's Version ...
//		if len(cs) == 0 {
//			after = max(after, last) // nothing for run up to last
//			err = db.WaitFor(ctx, after+1)
//		}
//	}
//
// An empty page says that no version up to the latest when Changes was
// called (last, or later) touched run; waiting for after+1 without
// moving after to last would return at once while the newest commits
// are other runs' (or outside the prefix), and the loop would spin
// (review 57).
func (db *DB) WaitFor(ctx context.Context, v Version) error {
	for {
		ch, done := db.waiters.wait()
		switch {
		case db.closed.Load():
			done()
			return ErrClosed
		case db.visible.Load() >= uint64(v):
			done()
			return nil
		}
		select {
		case <-ch:
			done()
		case <-ctx.Done():
			done()
			return ctx.Err()
		}
	}
}

// waiters wakes the goroutines in WaitFor when a version is published or
// the DB closes.
type waiters struct {
	n  atomic.Int32 // goroutines waiting, or about to
	mu sync.Mutex
	ch chan struct{} // closed to wake them; nil when no one waits
}

// wait registers a waiter and returns the channel that wakes it and the
// function to call when it stops waiting. The caller checks what it waits
// for after wait, so that a wake between the check and the wait is not
// lost.
func (w *waiters) wait() (<-chan struct{}, func()) {
	w.n.Add(1)
	w.mu.Lock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	ch := w.ch
	w.mu.Unlock()
	return ch, func() { w.n.Add(-1) }
}

// wake wakes every waiter (cheap when there is none).
func (w *waiters) wake() {
	if w.n.Load() == 0 {
		return
	}
	w.mu.Lock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
	w.mu.Unlock()
}
