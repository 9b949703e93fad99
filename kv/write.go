package kv

import (
	"fmt"
	"github.com/strata-kv/strata/internal/hashset"
	"iter"
	"math"
	"slices"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/strata-kv/strata/segment"
)

// maxCommit bounds the encoded entries of one commit so its frame fits the
// format's length field.
const maxCommit = segment.MaxFrameBody - segment.MaxHead

// beginWrite registers a write in flight; it fails on closed and
// read-only databases.
func (db *DB) beginWrite() error {
	if err := db.enter(); err != nil {
		return err
	}
	if db.opts.ReadOnly {
		db.leave()
		return fmt.Errorf("%w: the database was opened read-only", ErrReadOnly)
	}
	return nil
}

// checkSize refuses a commit too large for one frame.
func checkSize(r *commitReq) error {
	if r.bound > maxCommit {
		return fmt.Errorf("%w: commit of up to %d encoded bytes exceeds the frame limit of %d", ErrInvalidValue, r.bound, maxCommit)
	}
	return nil
}

// Put writes a new version of a key and returns its version.
func (db *DB) Put(run RunID, key string, v Value) (Version, error) {
	if err := checkRunKey(run, key); err != nil {
		return 0, err
	}
	r := getReq(&db.comp)
	defer putReq(r)
	if err := db.addValue(r, run, key, v); err != nil {
		return 0, keyErr("put", run, key, err)
	}
	if err := db.beginWrite(); err != nil {
		return 0, err
	}
	defer db.leave()
	if err := db.commit(r); err != nil {
		return 0, keyErr("put", run, key, err)
	}
	return Version(r.version), nil
}

// Delete writes a tombstone and returns true if the key was live;
// otherwise it writes nothing and returns false.
func (db *DB) Delete(run RunID, key string) (bool, error) {
	n, err := db.MDelete(run, []string{key})
	return n == 1, err
}

// Incr adds delta to an Int value and returns the result, atomically: N
// concurrent increments of 1 add exactly N. An absent key counts as 0. A
// value of another kind gives ErrWrongType and a result outside int64
// ErrOverflow; nothing is written on error.
func (db *DB) Incr(run RunID, key string, delta int64) (int64, error) {
	if err := checkRunKey(run, key); err != nil {
		return 0, err
	}
	if err := db.beginWrite(); err != nil {
		return 0, err
	}
	defer db.leave()
	r := &commitReq{comp: &db.comp}
	r.decide = func(r *commitReq) error {
		cur := int64(0)
		t := db.segs.Load()
		if rec, ok := db.newestLive(run, key); ok {
			v, err := db.readValue(t, rec)
			if err != nil {
				return err
			}
			i, ok := v.AsInt()
			if !ok {
				return fmt.Errorf("%w: value is %v, not int", ErrWrongType, v.Kind())
			}
			cur = i
		}
		if (delta > 0 && cur > math.MaxInt64-delta) || (delta < 0 && cur < math.MinInt64-delta) {
			return fmt.Errorf("%w: %d + %d", ErrOverflow, cur, delta)
		}
		r.n = cur + delta
		enc, _ := appendValue(nil, Int(r.n), 0)
		r.reset()
		r.add(segment.OpPut, string(run), key, enc)
		return nil
	}
	if err := db.commit(r); err != nil {
		return 0, keyErr("incr", run, key, err)
	}
	return r.n, nil
}

// CompareAndSwapVersion writes v only if the key's newest live version is
// expected (expected == 0: only if the key is absent). It returns false,
// with no error and nothing written, on a mismatch, including one caused
// by a concurrent writer.
func (db *DB) CompareAndSwapVersion(run RunID, key string, expected Version, v Value) (bool, error) {
	return db.cas(run, key, v, func() (bool, error) {
		rec, ok := db.newestLive(run, key)
		if expected == 0 {
			return !ok, nil
		}
		return ok && rec.Version == uint64(expected), nil
	})
}

// CompareAndSwapValue writes v only if the key's value Equals *expected
// (expected == nil: only if the key is absent). It returns false, with no
// error and nothing written, on a mismatch, including one caused by a
// concurrent writer. As Equal says, a NaN never matches.
func (db *DB) CompareAndSwapValue(run RunID, key string, expected *Value, v Value) (bool, error) {
	return db.cas(run, key, v, func() (bool, error) {
		t := db.segs.Load()
		rec, ok := db.newestLive(run, key)
		if expected == nil || !ok {
			return expected == nil && !ok, nil
		}
		cur, err := db.readValue(t, rec)
		if err != nil {
			return false, err
		}
		return cur.Equal(*expected), nil
	})
}

func (db *DB) cas(run RunID, key string, v Value, match func() (bool, error)) (bool, error) {
	if err := checkRunKey(run, key); err != nil {
		return false, err
	}
	r := &commitReq{comp: &db.comp}
	if err := db.addValue(r, run, key, v); err != nil {
		return false, keyErr("compare-and-swap", run, key, err)
	}
	if err := db.beginWrite(); err != nil {
		return false, err
	}
	defer db.leave()
	r.decide = func(r *commitReq) error {
		ok, err := match()
		if err != nil {
			return err
		}
		if !ok {
			r.reset()
		}
		return nil
	}
	if err := db.commit(r); err != nil {
		return false, keyErr("compare-and-swap", run, key, err)
	}
	return r.version != 0, nil
}

// MPut writes all entries atomically under one version and returns it.
// A key given twice keeps its last value. Any invalid key or value
// rejects the whole batch and writes nothing. An empty batch writes
// nothing and returns (0, nil).
func (db *DB) MPut(run RunID, entries []KeyValue) (Version, error) {
	if err := checkRun(run); err != nil {
		return 0, err
	}
	for _, e := range entries {
		if err := checkKey(e.Key); err != nil {
			return 0, err
		}
	}
	var last map[string]int // the last place of each key, when a key repeats
	if repeats(entries) {
		last = make(map[string]int, len(entries))
		for i, e := range entries {
			last[e.Key] = i
		}
	}
	r := getReq(&db.comp)
	defer putReq(r)
	// Grow the buffer once for a batch of small values; a guess, capped:
	// values may share memory, compress, be overwritten or be refused.
	size := 0
	for _, e := range entries {
		if size += storedSizeHint(e.Value); size >= maxPooledVals {
			size = maxPooledVals
			break
		}
	}
	r.vals = slices.Grow(r.vals, size)
	r.ents = slices.Grow(r.ents, min(len(entries), maxPooledEnts))
	for i, e := range entries {
		if last != nil && last[e.Key] != i {
			// Overwritten within the batch, but an invalid value
			// still refuses the whole batch.
			if err := db.checkValue(e.Value); err != nil {
				return 0, keyErr("put", run, e.Key, err)
			}
			continue
		}
		if err := db.addValue(r, run, e.Key, e.Value); err != nil {
			return 0, keyErr("put", run, e.Key, err)
		}
	}
	if err := checkSize(r); err != nil {
		return 0, err
	}
	if err := db.beginWrite(); err != nil {
		return 0, err
	}
	defer db.leave()
	if len(r.ents) == 0 {
		return 0, nil
	}
	if err := db.commit(r); err != nil {
		return 0, fmt.Errorf("mput run %s: %w", clip(string(run)), err)
	}
	return Version(r.version), nil
}

// repeats reports whether a key occurs twice in entries: each with each
// up to 8, else by a set of the keys' hashes, comparing keys only where
// two hashes match (no map for the common batch without repeats).
func repeats(entries []KeyValue) bool {
	if len(entries) <= 8 {
		for i := 1; i < len(entries); i++ {
			for j := range i {
				if entries[i].Key == entries[j].Key {
					return true
				}
			}
		}
		return false
	}
	set := hashScratch.Get().(*hashset.Set)
	r := repeatsIn(entries, set)
	if set.Size() <= maxPooledHashes {
		hashScratch.Put(set)
	}
	return r
}

// repeatsIn is repeats of more than 8 entries, with set as scratch.
func repeatsIn(entries []KeyValue, set *hashset.Set) bool {
	set.Reset(len(entries))
	equal := false
	for _, e := range entries {
		if set.Add(xxhash.Sum64String(e.Key)) {
			equal = true
			break
		}
	}
	if !equal {
		return false
	}
	seen := make(map[string]struct{}, len(entries))
	for _, e := range entries {
		if _, ok := seen[e.Key]; ok {
			return true
		}
		seen[e.Key] = struct{}{}
	}
	return false // two keys share a hash
}

// hashScratch holds repeats' sets of hashes, of at most maxPooledHashes
// slots.
var hashScratch = sync.Pool{New: func() any { return new(hashset.Set) }}

const maxPooledHashes = 1 << 17

// storedSizeHint guesses the bytes v takes stored (encoded, before
// compression), so that a batch's buffer is grown once.
func storedSizeHint(v Value) int {
	switch v.kind {
	case KindString:
		return len(v.str()) + 6
	case KindBytes:
		return len(v.raw()) + 6
	}
	return 16
}

// MDelete deletes keys atomically under one version and returns how many
// distinct keys were live (and so got a tombstone). If none was, nothing
// is written.
func (db *DB) MDelete(run RunID, keys []string) (int, error) {
	if err := checkRunKeys(run, keys); err != nil {
		return 0, err
	}
	n, _, err := db.deleteLive(run, "delete", slices.Values(keys))
	return n, err
}

// deleteLive deletes, under one version, each distinct key keys yields
// that is live at the newest state (keys runs in the commit leader), and
// returns how many and the version (0: none was live, nothing written).
// op names the call in errors.
func (db *DB) deleteLive(run RunID, op string, keys iter.Seq[string]) (int, Version, error) {
	if err := db.beginWrite(); err != nil {
		return 0, 0, err
	}
	defer db.leave()
	r := &commitReq{comp: &db.comp}
	r.decide = func(r *commitReq) error {
		r.reset()
		seen := map[string]bool{}
		for k := range keys {
			if seen[k] {
				continue
			}
			seen[k] = true
			if _, ok := db.newestLive(run, k); ok {
				r.add(segment.OpDelete, string(run), k, nil)
			}
		}
		r.n = int64(len(r.ents))
		return checkSize(r)
	}
	if err := db.commit(r); err != nil {
		return 0, 0, fmt.Errorf("%s run %s: %w", op, clip(string(run)), err)
	}
	return int(r.n), Version(r.version), nil
}
