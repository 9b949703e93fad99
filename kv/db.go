package kv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/recovery"
	"github.com/strata-kv/strata/segment"
)

// LockFile is the name of the lock file in a data directory.
const LockFile = "LOCK"

// DB is an open Strata database. All its methods are safe for concurrent
// use by many goroutines.
type DB struct {
	opts Options
	fs   vfs.FS
	dir  string
	log  *slog.Logger
	lock io.Closer
	ix   *index.Index

	// visible is the newest published version: readers take their
	// snapshot from it, and every version at or below it is complete.
	visible atomic.Uint64
	segs    atomic.Pointer[segTable]

	pipe pipeline

	// writeErr is set by the first failed write or fsync; every later
	// write returns it (the page cache may have dropped data, so retrying
	// an fsync cannot be trusted).
	writeErr atomic.Pointer[error]

	closed    atomic.Bool
	inflight  atomic.Int64
	drained   chan struct{}
	drainOnce sync.Once
	syncStop  chan struct{}
	syncDone  chan struct{}
	// afterBackgroundSync, if set (by tests), runs after each background
	// fsync attempt with its error.
	afterBackgroundSync func(error)
}

// segTable is an immutable snapshot of the segment set, replaced whole
// when a segment is sealed.
type segTable struct {
	sealed map[uint32]*segment.Sealed
	active *segment.Writer // nil for read-only databases
}

// Open opens the database in dir, creating the directory if needed, and
// recovers every committed version from its segments. opts == nil means
// the defaults (Buffered). A directory opened for writing is locked: a
// second Open of it for writing or reading fails with ErrLocked, and so
// does a writer's Open while read-only opens hold it. Damaged segments
// make Open fail with an error wrapping ErrCorrupt that names the file and
// offset; a torn write at the end of the newest segment is truncated and
// logged instead.
func Open(dir string, opts *Options) (*DB, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	if o.Durability == InMemory {
		if dir != "" {
			return nil, fmt.Errorf("strata: InMemory durability takes an empty dir, got %q", dir)
		}
		mem := vfs.NewMem()
		if err := mem.MkdirAll("/strata"); err != nil {
			return nil, err
		}
		return openFS(mem, "/strata", o)
	}
	if dir == "" {
		return nil, fmt.Errorf("strata: %v durability needs a directory", o.Durability)
	}
	return openFS(vfs.Default, dir, o)
}

// openFS opens a database on any file system; tests use it with the
// in-memory and fault-injecting ones. o must be normalized. Each setup
// function runs on the DB before its background work starts (tests use
// it to install hooks).
func openFS(fsys vfs.FS, dir string, o Options, setup ...func(*DB)) (*DB, error) {
	db := &DB{opts: o, fs: fsys, dir: dir, log: o.Logger, ix: index.New(), drained: make(chan struct{})}
	if o.ReadOnly {
		if _, err := fsys.List(dir); err != nil {
			return nil, fmt.Errorf("strata: open %s read-only: %w", dir, err)
		}
	} else if err := fsys.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("strata: create %s: %w", dir, err)
	}
	lock, err := fsys.Lock(filepath.Join(dir, LockFile), o.ReadOnly)
	if err != nil {
		if errors.Is(err, vfs.ErrLocked) {
			return nil, fmt.Errorf("%w: %s is in use by another DB", ErrLocked, dir)
		}
		return nil, fmt.Errorf("strata: lock %s: %w", dir, err)
	}
	db.lock = lock

	res, err := recovery.Recover(fsys, dir, db.ix, recovery.Options{ReadOnly: o.ReadOnly, Logger: o.Logger})
	if err != nil {
		lock.Close()
		return nil, err
	}
	t := &segTable{sealed: make(map[uint32]*segment.Sealed, len(res.Sealed))}
	for _, s := range res.Sealed {
		t.sealed[s.ID()] = s
	}
	if !o.ReadOnly {
		var w *segment.Writer
		if res.Active == 0 {
			w, err = segment.Create(fsys, dir, 1)
		} else {
			w, err = segment.OpenAppend(fsys, dir, res.Active, res.ActiveSize)
		}
		if err != nil {
			res.Close()
			lock.Close()
			return nil, fmt.Errorf("strata: %w", err)
		}
		t.active = w
	}
	db.segs.Store(t)
	db.visible.Store(res.LastVersion)
	db.pipe.next = res.LastVersion + 1
	db.pipe.lastTS = res.LastTimestamp
	db.log.Debug("strata: opened", "dir", dir, "durability", o.Durability.String(),
		"segments", len(res.Sealed)+btoi(t.active != nil), "versions", res.Entries, "last_version", res.LastVersion)

	for _, f := range setup {
		f(db)
	}
	if o.Durability == Buffered && !o.ReadOnly {
		db.syncStop, db.syncDone = make(chan struct{}), make(chan struct{})
		go db.backgroundSync()
	}
	return db, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// enter registers an operation in flight; it fails once Close has begun.
func (db *DB) enter() error {
	db.inflight.Add(1)
	if db.closed.Load() {
		db.leave()
		return ErrClosed
	}
	return nil
}

func (db *DB) leave() {
	if db.inflight.Add(-1) == 0 && db.closed.Load() {
		db.drainOnce.Do(func() { close(db.drained) })
	}
}

// Close waits for the operations in flight, flushes and syncs the active
// segment and releases the directory. A second Close returns nil; every
// other method called after Close returns ErrClosed. Values already
// returned stay valid.
func (db *DB) Close() error {
	if !db.closed.CompareAndSwap(false, true) {
		return nil
	}
	if db.inflight.Load() == 0 {
		db.drainOnce.Do(func() { close(db.drained) })
	}
	<-db.drained
	if db.syncStop != nil {
		close(db.syncStop)
		<-db.syncDone
	}
	var errs []error
	t := db.segs.Load()
	if t.active != nil {
		sync := db.opts.Durability != InMemory && db.writeErr.Load() == nil
		if err := t.active.Close(sync); err != nil && db.writeErr.Load() == nil {
			errs = append(errs, err)
		}
	}
	for _, s := range t.sealed {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := db.lock.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (db *DB) backgroundSync() {
	defer close(db.syncDone)
	tick := time.NewTicker(db.opts.SyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-db.syncStop:
			return
		case <-tick.C:
			if db.writeErr.Load() != nil || !db.pipe.dirty.Swap(false) {
				continue
			}
			err := db.segs.Load().active.Sync()
			if err != nil {
				db.fail(err)
			}
			if db.afterBackgroundSync != nil {
				db.afterBackgroundSync(err)
			}
		}
	}
}

// fail stops all further writes after an I/O error.
func (db *DB) fail(err error) {
	err = fmt.Errorf("strata: writes stopped after an I/O error: %w", err)
	if db.writeErr.CompareAndSwap(nil, &err) {
		db.log.Error("strata: write failure; the database accepts no more writes", "err", err)
	}
}

func (db *DB) failed() error {
	if p := db.writeErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Sync makes every acknowledged commit durable now (fsync). It does
// nothing for InMemory and read-only databases.
func (db *DB) Sync() error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	if db.opts.ReadOnly || db.opts.Durability == InMemory {
		return nil
	}
	if err := db.failed(); err != nil {
		return err
	}
	if err := db.segs.Load().active.Sync(); err != nil {
		db.fail(err)
		return db.failed()
	}
	return nil
}

// LastVersion returns the newest committed version (0 for a new DB). It
// survives restarts.
func (db *DB) LastVersion() Version { return Version(db.visible.Load()) }

// Stats describes the database's contents and files.
type Stats struct {
	Segments int // segment files in use
	// LiveBytes counts the bytes of versions that reads or Retention
	// still need. Until compaction exists every version is kept, so this
	// is the size of all segment files.
	LiveBytes int64
	// DeadBytes counts bytes compaction could reclaim (0 until it exists).
	DeadBytes   int64
	Keys        int64 // live (non-absent) keys, all runs
	Versions    int64 // versions held, tombstones included
	LastVersion Version
}

// Stats returns current figures. It works on a closed DB too.
func (db *DB) Stats() Stats {
	t := db.segs.Load()
	st := Stats{Segments: len(t.sealed), LastVersion: db.LastVersion()}
	for _, s := range t.sealed {
		st.LiveBytes += int64(len(s.Bytes()))
	}
	if t.active != nil {
		st.Segments++
		st.LiveBytes += t.active.Flushed()
	}
	_, st.Keys, st.Versions, _ = db.ix.Counts()
	return st
}

// CompactStats reports what a compaction did.
type CompactStats struct {
	SegmentsIn      int   // segments rewritten
	SegmentsOut     int   // segments written
	BytesReclaimed  int64 // disk bytes freed
	VersionsDropped int64 // versions removed under Retention
}

// errNoCompaction is returned by Compact until compaction is built.
var errNoCompaction = errors.New("strata: compaction is not implemented yet; every version is kept")

// Compact is meant to rewrite every segment holding versions that
// Retention lets it drop. It is NOT IMPLEMENTED yet: it returns an error
// saying so and changes nothing (every version stays readable, which is
// within the contract). A cancelled ctx returns ctx.Err() wrapped.
func (db *DB) Compact(ctx context.Context) (CompactStats, error) {
	if err := db.enter(); err != nil {
		return CompactStats{}, err
	}
	defer db.leave()
	if err := ctx.Err(); err != nil {
		return CompactStats{}, fmt.Errorf("strata: compact: %w", err)
	}
	if db.opts.ReadOnly {
		return CompactStats{}, fmt.Errorf("%w: compact", ErrReadOnly)
	}
	return CompactStats{}, errNoCompaction
}

// readValue returns the value a record points at, decoded into memory the
// caller owns.
func (db *DB) readValue(r index.Record) (Value, error) {
	if r.Tombstone() {
		return Value{}, nil
	}
	t := db.segs.Load()
	stored, path, err := t.read(r)
	if err != nil {
		// The active segment may have been sealed (and its file closed)
		// since t was loaded: read again from the current table.
		if t2 := db.segs.Load(); t2 != t {
			stored, path, err = t2.read(r)
		}
		if err != nil {
			return Value{}, err
		}
	}
	var v Value
	// stored may be a slice of a mapping: decoding copies it out, and a
	// file truncated under the mapping must give an error, not SIGBUS.
	err = segment.GuardFault(path, r.Offset, func() error {
		raw, err := segment.DecodeValue(r.Codec(), stored)
		if err != nil {
			return &segment.CorruptError{Path: path, Offset: r.Offset, Err: err}
		}
		if v, err = decodeValue(raw); err != nil {
			return &segment.CorruptError{Path: path, Offset: r.Offset, Err: err}
		}
		return nil
	})
	return v, err
}

func (t *segTable) read(r index.Record) ([]byte, string, error) {
	if s := t.sealed[r.Segment]; s != nil {
		b, err := s.Slice(r.Offset, int(r.Len))
		if err != nil {
			return nil, s.Path(), &segment.CorruptError{Path: s.Path(), Offset: r.Offset, Err: err}
		}
		return b, s.Path(), nil
	}
	if w := t.active; w != nil && w.ID() == r.Segment {
		b, err := w.ReadAt(r.Offset, int(r.Len))
		return b, w.Path(), err
	}
	return nil, "", fmt.Errorf("%w: segment %d is missing", ErrCorrupt, r.Segment)
}
