package kv

import (
	"fmt"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/recovery"
	"github.com/strata-kv/strata/segment"
)

// DropRun deletes every live key of run in one version, which it returns;
// (0, nil) if the run holds no live key. Readers see all of the run's
// keys deleted at that version, or none.
//
// It stores one small record (a run event, see segment.EventRun), not one
// entry per key: O(1) bytes on disk whatever the run's size. The index
// adds a deletion to each live key (24 bytes a key, in memory), and
// recovery adds them again on Open.
func (db *DB) DropRun(run RunID) (Version, error) {
	if err := checkRun(run); err != nil {
		return 0, err
	}
	ev := segment.Event{Kind: segment.EventDrop, Run: string(run)}
	return db.commitEvent("drop run "+clip(string(run)), func() (bool, error) {
		return db.anyLive(string(run), 0), nil
	}, ev)
}

// ForkRun makes dst a copy of src as of version at (0: the latest), in
// one version, which it returns ((0, nil) if src held no live key then).
// Writes to either run afterwards never show in the other. dst must hold
// no live key (else ErrInvalidRun); src and dst must differ.
//
// It stores one small record (a run event, see segment.EventRun) and
// copies no value: each of dst's keys links to src's key (28 bytes a key,
// in memory), so dst's History of a forked key shows src's versions up to
// at, then dst's own written since: newest first, dst's versions since
// the fork, then src's up to at. What dst's key held before the fork (a
// history DropRun ended) is not in it, as it is no part of what dst
// became; reads at versions before the fork (GetAt, ViewAt) still find
// it, as they read the database as it was. Compaction keeps, for each key of src, the version
// a read at at finds, for as long as the database lives (what dst's keys
// read); older versions of src go under the retention policy as before,
// and dst's History then shows fewer of them.
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
	db.pins.add(snap) // compaction keeps what the fork reads until its event pins it
	defer db.pins.remove(snap)
	if err := db.trimmedAt(snap); err != nil {
		return 0, err
	}
	ev := segment.Event{Kind: segment.EventFork, Run: string(dst), Src: string(src), At: snap}
	return db.commitEvent("fork run "+clip(string(src)), func() (bool, error) {
		// dst must hold no live key, at the newest state.
		for it := db.ix.Seek(string(dst), ""); it.Valid(); it.Next() {
			if n, ok := it.Chain().Newest(); ok && !n.Tombstone() {
				return false, fmt.Errorf("%w: fork into run %s, which holds a live key (%s)", ErrInvalidRun, clip(string(dst)), clip(it.Chain().Key()))
			}
		}
		return snap > 0 && db.anyLive(string(src), snap), nil
	}, ev)
}

// commitEvent commits run event ev if write, asked in the commit leader
// against the newest state, says to (else nothing: version 0).
func (db *DB) commitEvent(op string, write func() (bool, error), ev segment.Event) (Version, error) {
	if err := db.beginWrite(); err != nil {
		return 0, err
	}
	defer db.leave()
	req := &commitReq{}
	req.decide = func(r *commitReq) error {
		r.reset()
		ok, err := write()
		if ok {
			r.add(segment.OpPut, segment.EventRun, ev.Key(), nil)
		}
		return err
	}
	if err := db.commit(req); err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return Version(req.version), nil
}

// anyLive reports whether run holds a key live at version at (0: at the
// newest state, versions not yet visible included).
func (db *DB) anyLive(run string, at uint64) bool {
	for it := db.ix.Seek(run, ""); it.Valid(); it.Next() {
		c := it.Chain()
		r, ok := c.Newest()
		if at != 0 {
			r, ok = c.At(at)
		}
		if ok && !r.Tombstone() {
			return true
		}
	}
	return false
}

// addEntry adds a committed entry to the index, and what a run event
// stands for.
func (db *DB) addEntry(run, key string, rec index.Record) error {
	if db.failAdd != nil {
		if err := db.failAdd(); err != nil {
			return err
		}
	}
	if err := db.ix.Add(run, key, rec); err != nil {
		return err
	}
	if run == segment.EventRun {
		return recovery.ApplyEvent(db.ix, []byte(key), rec.Version, rec.Timestamp)
	}
	return nil
}
