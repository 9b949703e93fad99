package kv

import "strings"

// metaRun holds the metadata entries (see Meta). Like segment.EventRun,
// its name holds a NUL byte, so no run of the API can be named so.
const metaRun RunID = "\x00meta"

// internalRun reports whether run is one of Strata's own (run events,
// metadata), which Runs, Stats and the listing calls leave out.
func internalRun(run string) bool { return strings.HasPrefix(run, "\x00") }

// Meta returns the newest value of the metadata entry name; ok is false
// if it was never written. Metadata lives beside the data in no run:
// Runs, Keys and Scan never list it and Stats does not count it. Layers
// built on Strata keep their own state there, written in the same
// commit as the data it describes (package replica keeps the last raft
// index it applied). Names obey the key rules.
func (db *DB) Meta(name string) (Versioned, bool, error) {
	if err := checkKey(name); err != nil {
		return Versioned{}, false, err
	}
	if err := db.enter(); err != nil {
		return Versioned{}, false, err
	}
	defer db.leave()
	for {
		snap := db.visible.Load()
		v, ok, err := db.getAt(metaRun, name, snap)
		if ok || err != nil || !db.readAgain(snap) {
			return v, ok, err
		}
	}
}

// PutMeta writes the metadata entry name (see DB.Meta) in the
// transaction's commit. It never conflicts: metadata is not read through
// a transaction.
func (tx *Txn) PutMeta(name string, v Value) error {
	if err := tx.check(true); err != nil {
		return err
	}
	if err := checkKey(name); err != nil {
		return err
	}
	return tx.put("put meta", metaRun, name, v)
}

// CheckWrite returns the error a write of v to key of run would get for
// invalid input (ErrInvalidRun, ErrInvalidKey, ErrInvalidValue; v nil:
// the run and key only), and writes nothing. Layers that send writes
// elsewhere before this database applies them (package replica, through
// raft's log) refuse bad input first with it. After Close it returns
// ErrClosed for valid input, as every other method does.
func (db *DB) CheckWrite(run RunID, key string, v *Value) error {
	if err := checkRunKey(run, key); err != nil {
		return err
	}
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	if v == nil {
		return nil
	}
	if _, err := db.encodeValue(nil, *v); err != nil {
		return keyErr("put", run, key, err)
	}
	return nil
}
