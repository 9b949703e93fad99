package kv

import (
	"fmt"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/segment"
)

// DropRun deletes every live key of run in one version, which it returns;
// (0, nil) if the run holds no live key. Readers see all of the run's
// keys deleted at that version, or none.
//
// Today it writes one deletion per key (O(keys of the run) bytes on
// disk, bounded by the frame limit: a run too large for one commit gets
// ErrInvalidValue and nothing is deleted); the contract's single record
// is not done yet.
func (db *DB) DropRun(run RunID) (Version, error) {
	if err := checkRun(run); err != nil {
		return 0, err
	}
	_, v, err := db.deleteLive(run, "drop", func(yield func(string) bool) {
		for it := db.ix.Seek(string(run), ""); it.Valid(); it.Next() {
			if !yield(it.Chain().Key()) {
				return
			}
		}
	})
	return v, err
}

// ForkRun makes dst a copy of src as of version at (0: the latest), in
// one version, which it returns ((0, nil) if src held no live key then).
// Writes to either run afterwards never show in the other. dst must hold
// no live key (else ErrInvalidRun); src and dst must differ.
//
// Today it writes each key's value again under dst (O(keys and value
// bytes) on disk, bounded by the frame limit), and the History of a
// forked key starts at the fork's version; the contract's single record,
// no value bytes copied and src's versions up to at in dst's History are
// not done yet.
func (db *DB) ForkRun(src, dst RunID, at Version) (Version, error) {
	if err := checkRun(src); err != nil {
		return 0, err
	}
	if err := checkRun(dst); err != nil {
		return 0, err
	}
	if src == dst {
		return 0, fmt.Errorf("%w: fork of run %s onto itself", ErrInvalidRun, clip(string(src)))
	}
	if err := db.beginWrite(); err != nil {
		return 0, err
	}
	defer db.leave()
	snap := db.visible.Load()
	if at != 0 && uint64(at) < snap {
		snap = uint64(at)
	}
	db.pins.add(snap) // compaction keeps what the fork reads
	defer db.pins.remove(snap)
	if err := db.trimmedAt(snap); err != nil {
		return 0, err
	}
	// The values as of snap, read outside the commit pipeline.
	type keyRec struct {
		key string
		rec index.Record
	}
	var recs []keyRec
	for it := db.ix.Seek(string(src), ""); it.Valid(); it.Next() {
		c := it.Chain()
		if r, ok := c.At(snap); ok && !r.Tombstone() {
			recs = append(recs, keyRec{c.Key(), r})
		}
	}
	t := db.segs.Load()
	all := make([]index.Record, len(recs))
	for i, x := range recs {
		all[i] = x.rec
	}
	vals := make([]Value, len(recs))
	if err := db.readValues(t, all, vals); err != nil {
		return 0, fmt.Errorf("fork run %s: %w", clip(string(src)), err)
	}
	req := &commitReq{}
	for i, x := range recs {
		enc, err := db.encodeValue(nil, vals[i])
		if err != nil {
			return 0, keyErr("fork", src, x.key, err)
		}
		req.add(segment.OpPut, string(dst), x.key, enc)
	}
	if err := checkSize(req); err != nil {
		return 0, fmt.Errorf("fork run %s: %w", clip(string(src)), err)
	}
	// dst must hold no live key, at the newest state.
	dstEmpty := func() error {
		for it := db.ix.Seek(string(dst), ""); it.Valid(); it.Next() {
			if n, ok := it.Chain().Newest(); ok && !n.Tombstone() {
				return fmt.Errorf("%w: fork into run %s, which holds a live key (%s)", ErrInvalidRun, clip(string(dst)), clip(it.Chain().Key()))
			}
		}
		return nil
	}
	if len(req.ents) == 0 {
		return 0, dstEmpty()
	}
	puts := len(req.ents)
	req.decide = func(r *commitReq) error {
		r.truncate(puts)
		return dstEmpty()
	}
	if err := db.commit(req); err != nil {
		return 0, fmt.Errorf("fork run %s: %w", clip(string(src)), err)
	}
	return Version(req.version), nil
}
