package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/prefetch"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/recovery"
	"github.com/strata-kv/strata/segment"
)

// lockFile is the name of the lock file in a data directory.
const lockFile = "LOCK"

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
	// fieldGuess is the longest value field the last read of many values
	// met (plus a length uvarint, at most maxFieldGuess): the next such
	// read touches that much of each field before it knows its length.
	fieldGuess atomic.Int32
	segs       atomic.Pointer[segTable]
	set        segSet
	// trimmed is the trim horizon (see segment.Manifest): a read at a
	// version below it that finds no version of a key cannot tell an
	// absent key from history compaction dropped.
	trimmed atomic.Uint64
	// vanished is the manifest's Vanished, at most trimmed: a read at a
	// version below it that finds no trace of a key cannot tell an
	// absent key from one compaction dropped whole; at or above it, the
	// key was absent.
	vanished atomic.Uint64
	// openTrimmed and openVanished are trimmed and vanished as Open found
	// them: what compaction dropped before this Open is known only
	// through them, what it dropped since is in the index too (see
	// absentAt).
	openTrimmed, openVanished uint64
	// dropped is the newest version compaction may have dropped an entry
	// of: the horizon at Open, then the newest each job dropped. A change
	// feed after it has lost nothing.
	dropped atomic.Uint64
	// closedInternal is internalCounts as Close left them, counted just
	// before it closed the index (done then): Stats works on a closed
	// DB. closeMu guards it and the index's Close, so that a Stats during
	// a Close counts from the index while it is open, and from these
	// once it is not.
	closeMu        sync.Mutex
	closedInternal struct {
		keys, versions int64
		done           bool
	}
	pins    pins
	compact compactor

	pipe  pipeline
	stats counters
	// comp compresses the values writes store, learning to skip values
	// that do not compress (see segment.Compressor).
	comp segment.Compressor

	// writeErr is set by the first failed write or fsync; every later
	// write returns it (the page cache may have dropped data, so retrying
	// an fsync cannot be trusted).
	writeErr atomic.Pointer[error]

	closed    atomic.Bool
	waiters   waiters       // in WaitFor
	marks     sync.Map      // segment id -> *frameIndex (see Changes)
	closeDone chan struct{} // closed when the first Close has finished
	closeErr  error         // what the first Close returned
	// inflight counts the operations in flight (enter, leave). Every
	// operation adds to it twice, from whichever core it runs on, so it
	// has cache lines of its own: beside other fields, each Add would
	// take their line from the cores reading them.
	_         [cacheLinePad]byte
	inflight  atomic.Int64
	_         [cacheLinePad - 8]byte
	txns      atomic.Int64 // transaction functions running
	drained   chan struct{}
	drainOnce sync.Once
	recovery  RecoveryReport
	syncStop  chan struct{}
	syncDone  chan struct{}
	// failAdd, if set (by tests), runs before each index Add of the
	// commit pipeline; an error fails that Add.
	failAdd func() error
	// unmapped is set once a segment could not be written through a
	// mapping (logged once).
	unmapped atomic.Bool
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

// Open opens the database in dir, creating the directory (0700) if
// needed, and recovers every committed version from its segments. opts ==
// nil means the defaults (Buffered). A directory opened for writing is
// locked: a second Open of it for writing or reading fails with ErrLocked
// (after waiting up to Options.LockTimeout), and so does a writer's Open
// while read-only opens hold it; the error says who holds it.
//
// A torn write at the end of the newest segment (the last writes before a
// crash, never fsynced) is cut off, logged and reported by Recovery. Any
// other damage makes Open fail with an error wrapping ErrCorrupt, for
// which errors.As finds a *CorruptError naming the file and offset;
// Options.Recovery = RecoverSalvage opens the intact versions instead (see
// RecoverSalvage). Segment files of an older format are refused with an
// error that says so.
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
	db := &DB{opts: o, fs: fsys, dir: dir, log: o.Logger, ix: index.New(), drained: make(chan struct{}), closeDone: make(chan struct{})}
	db.compact.init()
	if o.ReadOnly {
		if _, err := fsys.List(dir); err != nil {
			return nil, fmt.Errorf("strata: open %s read-only: %w", dir, err)
		}
	} else if _, err := vfs.MkdirAllSync(fsys, dir); err != nil { // its entry durable before any commit is
		return nil, fmt.Errorf("strata: create %s: %w", dir, err)
	}
	lock, err := fsys.Lock(filepath.Join(dir, lockFile), o.ReadOnly, o.LockTimeout)
	if err != nil {
		if le := (*vfs.LockedError)(nil); errors.As(err, &le) {
			return nil, fmt.Errorf("%w: %s is in use by another DB: %s", ErrLocked, dir, le.Holder)
		}
		return nil, fmt.Errorf("strata: lock %s: %w", dir, err)
	}
	db.lock = lock

	res, err := recovery.Recover(fsys, dir, db.ix, recovery.Options{
		ReadOnly: o.ReadOnly, Salvage: o.Recovery == RecoverSalvage, TrustHints: o.TrustHints, Logger: o.Logger})
	if err != nil {
		lock.Close()
		return nil, err
	}
	if res.Entries >= bigRecovery {
		// Recovery left tens of megabytes of scratch (the hint files
		// read, the key hashes of the build): give it back now rather than when
		// the heap next grows, which a read-mostly database may not do
		// for a long time.
		debug.FreeOSMemory()
	}
	db.recovery = RecoveryReport{TornFile: res.TornFile, TornBytes: res.TornBytes, UnusedBytes: res.UnusedBytes,
		SalvagedAt: Version(res.SalvagedAt), MovedAside: res.MovedAside, Damage: res.Damage, readOnly: o.ReadOnly}
	t := &segTable{sealed: make(map[uint32]*segment.Sealed, len(res.Sealed))}
	for _, s := range res.Sealed {
		t.sealed[s.ID()] = s
	}
	// Commits go to a new segment (recovery never hands back one to append
	// to). Their timestamps never go back, not even below its base time.
	lastTS := res.LastTimestamp
	if !o.ReadOnly {
		if res.LastVersion == 0 {
			lastTS = max(lastTS, time.Now().UnixMicro())
		}
		w, err := db.createSegment(res.NextID, res.LastVersion+1, lastTS)
		if err != nil {
			res.Close()
			lock.Close()
			return nil, fmt.Errorf("strata: %w", err)
		}
		t.active = w
		db.set.man.Generation = res.Generation
		db.set.nextID = max(res.NextID, res.MaxID) + 1
		// The horizon clamped as below: a salvage that cut the versions
		// above it leaves a horizon that no version now stored needs,
		// and written whole, the next compaction would raise the horizon
		// to it again, above versions committed after this Open.
		err = db.writeManifest(segment.Manifest{Active: w.ID(), Trimmed: min(res.Trimmed, res.LastVersion+1),
			Vanished: min(res.Vanished, res.LastVersion+1), Segments: res.Segments})
		if err != nil {
			w.Close(false)
			res.Close()
			lock.Close()
			return nil, fmt.Errorf("strata: %w", err)
		}
	}
	// The horizon never passes a version that was durable when it was
	// set (see policy); clamp it all the same, so that a read at the
	// newest version is never below it.
	db.trimmed.Store(min(res.Trimmed, res.LastVersion+1))
	db.vanished.Store(min(res.Vanished, res.LastVersion+1))
	db.openTrimmed, db.openVanished = db.trimmed.Load(), db.vanished.Load()
	// What compaction dropped before this Open is not known, but it is
	// all at or below the horizon.
	db.dropped.Store(db.trimmed.Load())
	db.segs.Store(t)
	db.visible.Store(res.LastVersion)
	db.pipe.next = res.LastVersion + 1
	db.pipe.lastTS = lastTS
	db.log.Debug("strata: opened", "dir", dir, "durability", o.Durability.String(),
		"segments", len(res.Sealed)+btoi(t.active != nil), "versions", res.Entries, "last_version", res.LastVersion)

	for _, f := range setup {
		f(db)
	}
	if o.Durability == Buffered && !o.ReadOnly {
		db.syncStop, db.syncDone = make(chan struct{}), make(chan struct{})
		go db.backgroundSync()
	}
	if !o.ReadOnly {
		db.compact.stop, db.compact.done = make(chan struct{}), make(chan struct{})
		db.compact.kick = make(chan struct{}, 1) // background looks at once: Open may find dead bytes
		go db.background()
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

// errCloseInTxn is what Close returns when called from inside a View or
// Update function while the DB has transactions running: it could be
// waiting for that very function, forever.
var errCloseInTxn = errors.New("strata: Close called from inside a View or Update function while this DB has transactions running; call it after the function returns")

// Close waits for the operations and transaction functions in flight,
// flushes and syncs the active segment (ending it with a sync marker, see
// package segment) and releases the directory. It returns only once the
// directory is released, whichever of several concurrent Closes runs it;
// a second Close returns nil. Every other method called after Close
// returns ErrClosed. Values already returned stay valid.
//
// Called from inside a View or Update function of this DB, Close returns
// an error at once and closes nothing. It cannot tell whose function the
// caller is in, so it does the same inside a function of another DB when
// this one has transactions running (with none running, it closes). If a
// write or fsync failed earlier, Close writes nothing more and returns
// that failure.
func (db *DB) Close() error {
	if db.txns.Load() > 0 && insideTxnFunc() {
		return errCloseInTxn
	}
	if !db.closed.CompareAndSwap(false, true) {
		<-db.closeDone
		return nil
	}
	defer close(db.closeDone)
	db.waiters.wake() // WaitFor returns ErrClosed
	if db.inflight.Load() == 0 {
		db.drainOnce.Do(func() { close(db.drained) })
	}
	if db.compact.stop != nil {
		close(db.compact.stop)
		<-db.compact.done
	}
	<-db.drained
	if db.syncStop != nil {
		close(db.syncStop)
		<-db.syncDone
	}
	var errs []error
	if err := db.failed(); err != nil {
		errs = append(errs, err)
	}
	t := db.segs.Load()
	if db.compact.stop != nil {
		db.writeHints()
	}
	if t.active != nil {
		sync := db.opts.Durability != InMemory && db.failed() == nil
		err := t.active.Close(sync)
		if err != nil && db.failed() == nil {
			errs = append(errs, err)
		} else if uerr := t.active.Uncut(); uerr != nil {
			errs = append(errs, uerr) // the failed commits' bytes are left (review 59)
		}
		if err == nil && sync && t.active.Size() > segment.HeaderSize {
			// The segment is whole and durable, and the next Open starts
			// a new one: its hint spares that Open a scan.
			if s, err := segment.OpenSealed(db.fs, t.active.Path()); err == nil {
				db.writeHint(s, 0)
				s.Close()
			}
		}
	}
	for _, s := range t.sealed {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	db.closeMu.Lock()
	db.closedInternal.keys, db.closedInternal.versions = db.internalCounts()
	db.closedInternal.done = true
	db.ix.Close()
	db.closeMu.Unlock()
	if err := db.lock.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// runTxnFunc calls a transaction function. Close looks for this frame on
// its caller's stack to refuse being called from inside one.
//
//go:noinline
func runTxnFunc(fn func(*Txn) error, tx *Txn) error { return fn(tx) }

var runTxnFuncName = runtime.FuncForPC(reflect.ValueOf(runTxnFunc).Pointer()).Name()

// insideTxnFunc reports whether the calling goroutine is running a
// transaction function (of any DB: the stack cannot tell which). It costs
// a stack walk, so Close calls it only when transactions are running.
func insideTxnFunc() bool {
	pcs := make([]uintptr, 64)
	for {
		n := runtime.Callers(2, pcs)
		if n == len(pcs) {
			pcs = make([]uintptr, 2*len(pcs))
			continue
		}
		frames := runtime.CallersFrames(pcs[:n])
		for {
			f, more := frames.Next()
			if f.Function == runTxnFuncName {
				return true
			}
			if !more {
				return false
			}
		}
	}
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
			err := db.fsync(db.segs.Load().active)
			if err != nil {
				db.fail(err)
			} else {
				// Record what was just made durable, so that damage to
				// it shows as corruption even if no commit follows
				// before a crash (see package segment). The marker is
				// made durable by the next tick.
				db.commit(&commitReq{marker: true})
			}
			if db.afterBackgroundSync != nil {
				db.afterBackgroundSync(err)
			}
		}
	}
}

// fail stops all further writes after an I/O error.
func (db *DB) fail(err error) {
	err = fmt.Errorf("strata: writes stopped after a failure: %w", err)
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
//
// Buffered, it then appends a sync marker claiming what it made durable,
// as the background sync does, so that damage to it is corruption, never
// taken for a torn tail, after a crash that leaves the marker (a kill -9
// does; a power loss before the next fsync, the background sync's or the
// next Sync's, may not: see package segment). Strict commits are durable
// when acknowledged, and Sync adds nothing to them.
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
	if err := db.fsync(db.segs.Load().active); err != nil {
		db.fail(err)
		return db.failed()
	}
	if db.opts.Durability != Buffered {
		return nil
	}
	return db.commit(&commitReq{marker: true})
}

// LastVersion returns the newest committed version (0 for a new DB). It
// survives restarts.
func (db *DB) LastVersion() Version { return Version(db.visible.Load()) }

// Stats describes the database's contents and files.
type Stats struct {
	Segments int // segment files in use
	// LiveBytes counts the bytes of the segment files but DeadBytes.
	LiveBytes int64
	// DeadBytes estimates the bytes compaction could reclaim now: the
	// entries of versions outside Retention (keys, values, framing).
	// Computing it walks the index (a few tens of milliseconds a
	// million keys) and reads the lengths of up to 256 droppable values
	// a segment from the segment (a page of the file each, which a
	// database larger than memory reads from disk; the rest count at
	// their mean) when Retention may drop anything; it is 0 otherwise.
	DeadBytes   int64
	Keys        int64 // live (non-absent) keys, all runs
	Versions    int64 // versions held, tombstones included
	LastVersion Version

	// IndexBytes is the memory the in-memory index holds: its arena and
	// hash table (see package index for the cost per key and version).
	IndexBytes int64
	Commits    int64 // commits acknowledged since Open
	// Groups counts the commit groups written since Open, each handed
	// to the OS at once (one copy into the segment's shared mapping, one
	// pwrite for a group of 2 KiB or more or in Strict mode, or one
	// write(2) where there is no mapping): Commits / Groups is how many commits share a write
	// (and, in Strict mode, an fsync).
	Groups int64
	// Fsyncs counts the fsyncs of segment files since Open: Strict
	// groups, background syncs, Sync calls that found bytes not yet
	// durable, and the sealing of segments (a roll, Close); always 0
	// InMemory.
	Fsyncs int64
	// FsyncP99 is the 99th-percentile fsync latency since Open, as the
	// upper bound of a histogram bucket (at most 25% above the true
	// figure); 0 before the first fsync.
	FsyncP99 time.Duration
}

// Stats returns current figures. It works on a closed DB too, and
// during a Close.
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
	// Run events and metadata are Strata's own, not the API's keys.
	var evKeys, evVersions int64
	if db.enter() != nil {
		// During or after Close: from the index while it is open, else
		// as Close counted them before closing it (review 53: read
		// unguarded, a Stats that met a Close beginning counted them as
		// keys; review 54: waiting for the Close instead hung a Stats
		// called inside a View, which the Close waits for).
		db.closeMu.Lock()
		if db.closedInternal.done {
			evKeys, evVersions = db.closedInternal.keys, db.closedInternal.versions
		} else {
			evKeys, evVersions = db.internalCounts()
		}
		_, st.Keys, st.Versions = db.ix.Counts()
		db.closeMu.Unlock()
	} else {
		evKeys, evVersions = db.internalCounts()
		for id, sh := range db.deadBySegment(db.retention()) {
			if s := t.sealed[id]; s != nil {
				st.DeadBytes += sh.of(int64(len(s.Bytes())))
			} else if t.active != nil && t.active.ID() == id {
				st.DeadBytes += sh.of(t.active.Flushed())
			}
		}
		_, st.Keys, st.Versions = db.ix.Counts()
		db.leave()
		st.DeadBytes = min(st.DeadBytes, st.LiveBytes)
		st.LiveBytes -= st.DeadBytes
	}
	st.Keys -= evKeys
	st.Versions -= evVersions
	st.IndexBytes = db.ix.Bytes()
	// Groups first: the pipeline counts a group's commits, then the
	// group, so loaded in this order Commits >= Groups holds (the other
	// order saw a group whose commits it had not, review 53).
	st.Groups = db.stats.groups.Load()
	st.Commits = db.stats.commits.Load()
	st.Fsyncs = db.stats.fsyncs.n.Load()
	st.FsyncP99 = db.stats.fsyncs.quantile(0.99)
	return st
}

// internalCounts counts the keys and versions of Strata's own runs (run
// events, metadata), which Stats leaves out. The index must be open.
func (db *DB) internalCounts() (keys, versions int64) {
	for _, run := range []string{segment.EventRun, string(metaRun)} {
		for it := db.ix.Seek(run, ""); it.Valid(); it.Next() {
			keys++
			it.Chain().Raw(func(index.Record) bool { versions++; return true })
		}
	}
	return keys, versions
}

// CompactStats reports what a compaction did.
type CompactStats struct {
	SegmentsIn      int   // segments rewritten
	SegmentsOut     int   // segments written
	BytesReclaimed  int64 // disk bytes freed
	VersionsDropped int64 // versions removed under Retention
}

// bigRecovery is the number of recovered entries from which Open returns
// recovery's scratch memory to the system at once.
const bigRecovery = 1 << 18

// createSegment creates the next active segment (an id the index can
// address), written through a shared mapping where the file system
// allows, its fsyncs counted in Stats.
func (db *DB) createSegment(id uint32, base uint64, ts int64) (*segment.Writer, error) {
	if id > index.MaxSegment {
		return nil, fmt.Errorf("segment id %d beyond the index's limit of %d segments", id, index.MaxSegment)
	}
	w, err := segment.Create(db.fs, db.dir, id, base, ts)
	if err != nil {
		return nil, err
	}
	if db.opts.Durability != InMemory { // (whose Syncs touch no disk: review 53)
		w.OnSync(db.stats.fsyncs.record)
	}
	if db.opts.Durability == Strict {
		w.SyncEachFlush()
	}
	// Reserve a little space ahead; the mapping doubles as frames come.
	if !w.MapWrites(min(db.opts.SegmentSize+segment.MaxHead, initialReserve)) && !db.unmapped.Swap(true) && db.fs == vfs.Default {
		db.log.Info("strata: segments are written with write(2): this file system cannot reserve and map them", "dir", db.dir)
	}
	return w, nil
}

// initialReserve is the space reserved ahead in a new active segment:
// a database open but idle holds no more disk than this.
const initialReserve = 4 << 20

// readValue returns the value a record points at, decoded into memory the
// caller owns. t is the segment table loaded before the record was read
// from the index (see readValues).
func (db *DB) readValue(t *segTable, r index.Record) (v Value, err error) {
	// readValues for one record, without what overlapping the misses of
	// many takes (a Get is a third faster when its value is cached).
	if r.Tombstone() {
		return Value{}, nil
	}
	var newer *segTable
	defer func() { runtime.KeepAlive(t); runtime.KeepAlive(newer) }()
	err = segment.GuardFaults(func() error {
		b, path, err := db.readStored(t, r, &newer)
		if err != nil {
			db.touchEnd(t, r)
			return err
		}
		// A file truncated under its mapping loses its end: read the
		// value's last byte first, so that such a value faults (and says
		// so) rather than decoding the zeros before the cut.
		if len(b) > 0 {
			runtime.KeepAlive(b[len(b)-1])
		}
		raw, err := segment.DecodeValue(r.Codec(), b)
		if err == nil {
			v, err = decodeValueIn(raw, nil)
		}
		if err != nil {
			db.touchEnd(t, r)
			return &segment.CorruptError{File: path, Offset: r.Field, Err: err}
		}
		return nil
	}, func() (string, int64) { return db.pathOf(t, r), r.Field })
	return v, err
}

// pathOf returns the path of the segment file r names, for an error: it
// reads nothing of the file (a fault handler calls it).
func (db *DB) pathOf(t *segTable, r index.Record) string {
	if p := t.path(r.Segment); p != "" {
		return p
	}
	return db.segs.Load().path(r.Segment)
}

// touchEnd, under GuardFaults, reads the last byte of the mapping of r's
// sealed segment: where r's bytes made no sense because the file shrank
// under its mapping (its lost end reads as zeros up to the page boundary
// and faults beyond), the fault makes the error say so.
func (db *DB) touchEnd(t *segTable, r index.Record) {
	for _, t := range [2]*segTable{t, db.segs.Load()} {
		if s := t.sealed[r.Segment]; s != nil {
			s.TouchEnd()
			return
		}
	}
}

// path returns the path of segment id, "" if t does not hold it.
func (t *segTable) path(id uint32) string {
	if s := t.sealed[id]; s != nil {
		return s.Path()
	}
	if w := t.active; w != nil && w.ID() == id {
		return w.Path()
	}
	return ""
}

// readValues decodes the values recs point at into out (tombstones give
// Null). The stored bytes are located first and each touched once before
// any is decoded: the cache misses of values scattered over the segments
// then overlap instead of coming one after another.
//
// t must be the segment table loaded before recs were read from the
// index: a compaction removes a segment from the table only after the
// index points elsewhere, so t holds (and keeps mapped) every segment
// recs may name but newer ones, for which readValues loads the table
// again.
func (db *DB) readValues(t *segTable, recs []index.Record, out []Value) error {
	return db.readValuesInto(t, recs, nil, func(i int) *Value { return &out[i] })
}

// readStored returns the stored bytes of r and the path of their file,
// from t or, when t cannot serve r (a segment sealed or written since t
// was loaded), from the newest table, which it leaves in *newer: the
// caller keeps both tables reachable until it is done with the bytes. It
// reads the value's length from the mapping: call it under GuardFaults.
func (db *DB) readStored(t *segTable, r index.Record, newer **segTable) ([]byte, string, error) {
	b, path, err := t.read(r)
	if err == nil {
		return b, path, nil
	}
	if *newer = db.segs.Load(); *newer == t {
		return nil, path, err
	}
	return (*newer).read(r)
}

// readValuesInto is readValues with value i decoded into *out(i). With
// a scratch arena the bytes of top-level Bytes values stored
// uncompressed are copied into it (which the caller reuses: they are
// views for a callback), and every other value is decoded into memory
// of its own.
func (db *DB) readValuesInto(t *segTable, recs []index.Record, scratch *arena, out func(i int) *Value) error {
	// A record t cannot serve names a segment sealed or written since t
	// was loaded: it is read from the newest table. Each record tries t
	// first, since the newest table may no longer hold a segment that
	// compaction replaced after recs were read. Both tables stay
	// reachable until the values are decoded: their segments hold the
	// bytes read.
	var newer *segTable
	defer func() { runtime.KeepAlive(t); runtime.KeepAlive(newer) }()
	read := func(r index.Record) ([]byte, string, error) { return db.readStored(t, r, &newer) }
	var small [16][]byte
	stored := small[:]
	switch {
	case len(recs) <= len(small):
	case len(recs) <= maxPooled:
		sp := storedPool.Get().(*[][]byte)
		if cap(*sp) < len(recs) {
			*sp = make([][]byte, len(recs))
		}
		stored = (*sp)[:len(recs)]
		defer func() { clear(stored); storedPool.Put(sp) }()
	default:
		stored = make([][]byte, len(recs))
	}
	cur := 0
	at := func() (string, int64) { return db.pathOf(t, recs[cur]), recs[cur].Field }
	guess := int(db.fieldGuess.Load())
	// The values are read from mappings: a file truncated under one must
	// give an error, not SIGBUS.
	return segment.GuardFaults(func() error {
		// First where each field in a mapping lies, then, in a loop of
		// its own, a prefetch of the field's lines up to the length the
		// fields read last were (fieldGuess): a length is not known
		// before its line comes, and the lines past the guess wait for
		// it. Prefetches, unlike loads, retire at once, so the misses of
		// every field overlap (loads held the core once enough queued:
		// BenchmarkScan100 5% slower); a prefetch of a page not mapped
		// yet does nothing, and the loads after take its fault.
		for cur = range recs {
			r := recs[cur]
			if r.Tombstone() {
				continue
			}
			if s := t.sealed[r.Segment]; s != nil {
				stored[cur] = s.From(r.Field)
			} else if w := t.active; w != nil && w.ID() == r.Segment {
				stored[cur] = w.From(r.Field)
			}
		}
		var touch byte
		for cur = range stored { // cur names the field a fault cut
			b := stored[cur]
			if len(b) == 0 {
				continue
			}
			// Never past the field's first page: bytes beyond the value
			// may lie in a page that is gone (a file truncated under its
			// mapping) while the value is whole, and where the portable
			// Line loads (off amd64, or with -tags purego), a fault there
			// would be charged to this value; on amd64 a prefetch there
			// is wasted. (Mappings start at offset 0, so the field's
			// place in its page is its offset's.)
			end := min(guess, len(b), int(pageSize-recs[cur].Field%pageSize))
			p := unsafe.Pointer(unsafe.SliceData(b))
			for i := 0; i < end; i += 64 {
				prefetch.Line(unsafe.Add(p, i))
			}
			prefetch.Line(unsafe.Add(p, max(end, 1)-1))
		}
		size := 0 // what the arena copies: at most the stored bytes of the small values, but for compressed ones
		longest := 0
		defer func() {
			// Stored only when it changes: it shares a line with the
			// snapshot every read loads, which a store on one core takes
			// from all the others.
			if g := int32(min(longest+binary.MaxVarintLen32, maxFieldGuess)); g != int32(guess) {
				db.fieldGuess.Store(g)
			}
		}()
		for cur = range recs {
			r := recs[cur]
			if r.Tombstone() {
				continue
			}
			var b []byte
			var err error
			if stored[cur] != nil {
				if b, err = segment.FieldValue(stored[cur]); err != nil {
					path, off := at()
					err = &segment.CorruptError{File: path, Offset: off, Err: err}
				}
			} else {
				b, _, err = read(r)
			}
			if err != nil {
				db.touchEnd(t, r)
				return err
			}
			stored[cur] = b
			longest = max(longest, len(b))
			if len(b) <= arenaChunk {
				size += len(b)
			}
		}
		for cur = range stored { // cur names the value a fault cut
			b := stored[cur]
			// Every cache line of the value (most span one or two).
			for i := 0; i < len(b); i += 64 {
				touch ^= b[i]
			}
			if len(b) > 0 {
				touch ^= b[len(b)-1]
			}
		}
		runtime.KeepAlive(touch)
		var mem *arena // one allocation for many values' bytes
		if scratch != nil {
			scratch.reserve(size)
		} else if len(recs) > 1 {
			mem = &arena{}
			mem.reserve(size)
		}
		for cur = range recs {
			r := recs[cur]
			if r.Tombstone() {
				*out(cur) = Value{}
				continue
			}
			raw, err := segment.DecodeValue(r.Codec(), stored[cur])
			// Only values stored uncompressed go to the scratch: a
			// decompressed one is decoded into memory of its own.
			if err == nil && (scratch == nil || r.Codec() != segment.CodecRaw || !decodeBytesInto(out(cur), raw, scratch)) {
				err = decodeValueInto(out(cur), raw, mem)
			}
			if err != nil {
				db.touchEnd(t, r)
				path, off := at()
				return &segment.CorruptError{File: path, Offset: off, Err: err}
			}
		}
		return nil
	}, at)
}

// pageSize is the system's memory page size.
var pageSize = int64(os.Getpagesize())

// cacheLinePad is the span padding keeps apart: two 64-byte lines, as
// x86 processors fetch lines in adjacent pairs.
const cacheLinePad = 128

// maxFieldGuess caps DB.fieldGuess: lines touched before a field's
// length is known, on a guess, are at most this many bytes' worth.
const maxFieldGuess = 512

// storedPool holds the slices of stored bytes of reads of 17 to
// maxPooled values (a scan page's), cleared between uses so that they
// pin no mapping.
var storedPool = sync.Pool{New: func() any { return new([][]byte) }}

// maxPooled is the most entries a read takes from storedPool or recsPool:
// larger reads allocate, so that a pool holds no more than this whatever
// the largest read was, and clears no more.
const maxPooled = 1024

// read returns the stored bytes of r: it reads the value's length from
// the mapping, so call it under GuardFaults.
func (t *segTable) read(r index.Record) ([]byte, string, error) {
	if s := t.sealed[r.Segment]; s != nil {
		b, err := s.Value(r.Field)
		if err != nil {
			return nil, s.Path(), &segment.CorruptError{File: s.Path(), Offset: r.Field, Err: err}
		}
		return b, s.Path(), nil
	}
	if w := t.active; w != nil && w.ID() == r.Segment {
		b, err := w.Value(r.Field)
		if err != nil {
			return nil, w.Path(), &segment.CorruptError{File: w.Path(), Offset: r.Field, Err: err}
		}
		return b, w.Path(), nil
	}
	return nil, "", fmt.Errorf("%w: segment %s, which holds version %d, is not open", ErrCorrupt, segment.FileName(r.Segment), r.Version)
}
