package kv

import (
	"errors"
	"math"
	"path/filepath"
	"sync"
	"time"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/segment"
)

// HistoryFunc calls fn with the versions of a key that History would
// return for the same arguments, one at a time, newest first, until fn
// returns false. Unlike History it allocates nothing per call for
// versions whose values are Bytes stored uncompressed (or tombstones):
// the bytes of a Bytes value fn gets are valid only until fn returns,
// and fn copies what it keeps. Every other value is fn's own, as
// History's are.
//
// What fn gets is what History returned when the call began, even if a
// compaction drops or moves versions while the call lasts: the call
// finds every record at its start and keeps the segments they lie in
// mapped until it returns (a removed file's disk space comes back then).
// It reads the values 128 at a time and does not hold the database
// while fn runs: fn may call any method of db, Close included
// (HistoryFunc then returns ErrClosed if it had more versions to read).
// A history of n versions costs 32n bytes of records, pooled. An unknown key calls fn
// never and returns nil; a nil fn gets an error; read errors are
// History's.
func (db *DB) HistoryFunc(run RunID, key string, limit int, before Version, fn func(v Versioned) bool) error {
	if err := checkRunKey(run, key); err != nil {
		return err
	}
	if fn == nil {
		return errNilVisit
	}
	snap, err := db.pinVisit()
	if err != nil {
		return err
	}
	defer db.pins.remove(snap)
	v := getVisitor()
	defer putVisitor(v)
	// Every record first, in one walk, with the segment table they are
	// read from kept: a compaction that drops or moves versions while
	// fn runs removes files that table keeps mapped, so fn gets what
	// History returned at the start. (Walking again for each batch
	// would also cost a long history's length squared.)
	if err := db.enter(); err != nil {
		return err
	}
	t := db.segs.Load()
	v.recs = v.recs[:0]
	if c, ok := db.ix.Find(string(run), key); ok {
		c.Versions(snap, func(r index.Record) bool {
			if before != 0 && r.Version >= uint64(before) {
				return true
			}
			v.recs = append(v.recs, r)
			return limit <= 0 || len(v.recs) < limit
		})
	}
	db.leave()
	for off := 0; off < len(v.recs); off += visitBatch {
		// A batch's values read together (their cache misses overlap),
		// then fn without the database held.
		recs := v.recs[off:min(off+visitBatch, len(v.recs))]
		if err := db.enter(); err != nil {
			return err
		}
		err := v.read(db, t, recs)
		db.leave()
		if err != nil {
			return keyErr("history", run, key, err)
		}
		for i, r := range recs {
			if !fn(Versioned{Value: v.vals[i], Version: Version(r.Version), Timestamp: time.UnixMicro(r.Timestamp).UTC(), Deleted: r.Tombstone()}) {
				return nil
			}
		}
	}
	return nil
}

// ScanFunc calls fn for each key that Scan would list for run and prefix,
// in the same order, with its newest version, starting after the key
// `after` ("": from the first), until fn returns false or limit keys
// (limit <= 0: no limit) have been passed. Unlike Scan it allocates
// nothing per key for keys whose values are Bytes stored uncompressed:
// the key and the bytes of a Bytes value fn gets are valid only until fn
// returns, and fn copies what it keeps. Every other value is fn's own.
//
// The whole walk reads one snapshot, which compaction keeps while the
// call lasts (each key's version there is its newest at the call's
// start). ScanFunc does not hold the database while fn runs: fn may
// call any method of db, Close included (ScanFunc then returns ErrClosed
// if it had more keys to read). The prefix obeys Scan's rules; after is
// "" or a valid key (else ErrInvalidKey); a nil fn gets an error.
func (db *DB) ScanFunc(run RunID, prefix, after string, limit int, fn func(key []byte, v Versioned) bool) error {
	if err := checkPrefix(run, prefix); err != nil {
		return err
	}
	if after != "" {
		if err := checkKey(after); err != nil {
			return err
		}
	}
	if fn == nil {
		return errNilVisit
	}
	snap, err := db.pinVisit()
	if err != nil {
		return err
	}
	defer db.pins.remove(snap)
	v := getVisitor()
	defer putVisitor(v)
	sp := span{lo: prefix, hi: prefixEnd(prefix), after: after}
	for {
		if err := db.enter(); err != nil {
			return err
		}
		t := db.segs.Load()
		v.recs, v.keys, v.ends = v.recs[:0], v.keys[:0], v.ends[:0]
		batch := visitBatch
		if limit > 0 {
			batch = min(batch, limit)
		}
		more := false
		db.walkSpan(run, sp, snap, nil, func(key string, r index.Record, _ *pendingWrite) bool {
			if len(v.recs) == batch {
				more = true
				return false
			}
			v.keys = append(v.keys, key...)
			v.ends = append(v.ends, len(v.keys))
			v.recs = append(v.recs, r)
			return true
		})
		err := v.read(db, t, v.recs)
		db.leave()
		n := len(v.recs)
		if err != nil {
			key := ""
			var ce *CorruptError
			if errors.As(err, &ce) {
				for i, r := range v.recs {
					if r.Field == ce.Offset && filepath.Base(ce.File) == segment.FileName(r.Segment) {
						key = string(v.key(i))
						break
					}
				}
			}
			return keyErr("scan", run, key, err)
		}
		for i, r := range v.recs {
			if !fn(v.key(i), Versioned{Value: v.vals[i], Version: Version(r.Version), Timestamp: time.UnixMicro(r.Timestamp).UTC()}) {
				return nil
			}
		}
		if !more || n == 0 {
			return nil
		}
		if limit > 0 {
			if limit -= n; limit <= 0 {
				return nil
			}
		}
		sp.after = string(v.key(n - 1))
	}
}

// pinVisit pins the snapshot a visit reads, the latest, and returns it
// (see pinAt): the caller removes the pin. One a compaction trimmed
// (after a salvage) is read all the same, as History and Scan read the
// latest.
func (db *DB) pinVisit() (uint64, error) {
	if err := db.enter(); err != nil {
		return 0, err
	}
	defer db.leave()
	snap, _ := db.pinAt(math.MaxUint64)
	return snap, nil
}

// errNilVisit is what HistoryFunc and ScanFunc return for a nil fn.
var errNilVisit = errors.New("strata: nil function to visit with")

// visitBatch is how many versions or keys HistoryFunc and ScanFunc read
// at a time: enough for their values' cache misses to overlap, few
// enough that the buffers they reuse stay small.
const visitBatch = 128

// visitor holds the buffers HistoryFunc and ScanFunc reuse from batch to
// batch and, through visitPool, from call to call.
type visitor struct {
	recs    []index.Record
	vals    []Value
	keys    []byte // a batch's keys, one after another
	ends    []int  // where each ends in keys
	scratch arena  // the bytes of its Bytes values
}

var visitPool = sync.Pool{New: func() any { return new(visitor) }}

func getVisitor() *visitor { return visitPool.Get().(*visitor) }

// putVisitor returns v to the pool, without what it holds of values
// that were fn's own (arrays, objects, strings), and without a keys
// buffer long keys grew past visitKeysMax.
func putVisitor(v *visitor) {
	clear(v.vals[:cap(v.vals)])
	if cap(v.keys) > visitKeysMax {
		v.keys = nil
	}
	if cap(v.recs) > visitRecsMax {
		v.recs = nil
	}
	visitPool.Put(v)
}

// visitKeysMax is the most bytes of keys a pooled visitor keeps, and
// visitRecsMax the most records (a long history's).
const (
	visitKeysMax = 64 << 10
	visitRecsMax = 4 * visitBatch
)

// key returns key i of the batch ScanFunc read, a view of v.keys.
func (v *visitor) key(i int) []byte {
	start := 0
	if i > 0 {
		start = v.ends[i-1]
	}
	return v.keys[start:v.ends[i]:v.ends[i]]
}

// read reads the values of recs into v.vals from t, the table loaded
// before the records were read (see readValues). With db entered.
func (v *visitor) read(db *DB, t *segTable, recs []index.Record) error {
	if cap(v.vals) < len(recs) {
		v.vals = make([]Value, len(recs), visitBatch)
	}
	v.vals = v.vals[:len(recs)]
	v.scratch.reset()
	return db.readValuesInto(t, recs, &v.scratch, func(i int) *Value { return &v.vals[i] })
}
