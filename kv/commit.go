package kv

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/segment"
)

// The commit pipeline. Every write (Put, a batch, a transaction, and the
// conditional writes Delete, Incr and the CAS calls) is a commitReq. The
// first request to arrive when no leader is active becomes the leader; it
// takes every request queued so far and, for each in order: runs its
// decide function against the newest state (including earlier requests
// of the same group), assigns the next version, appends one frame to the
// active segment's buffer and adds the entries to the index. Then it
// writes the whole group with one write(2), fsyncs once in Strict mode,
// and publishes the group's last version: readers' snapshots never include
// a version before every version below it is written (and, in Strict,
// synced). A group that reaches the end of the segment is split there
// (see runGroup). Requests that arrive meanwhile queue up; when the leader is
// done it hands leadership to the first of them, which takes the whole
// queue. So N concurrent writers share write(2)s and fsyncs.
//
// Because decide functions run one at a time against the newest state,
// Incr, Delete and the CAS calls are atomic without retries, and Update's
// conflict check is exact.
type pipeline struct {
	mu      sync.Mutex
	queue   []*commitReq
	leading bool

	// Owned by the leader.
	next   uint64 // version of the next commit
	lastTS int64  // timestamp of the last commit, Unix microseconds
	specs  []segment.EntrySpec
	offs   []int64

	dirty atomic.Bool // Buffered: written since the last background sync
}

// entryMeta describes one entry of a request; its stored value (already
// compressed, see segment.Compress) is vals[voff:voff+vlen] of the
// request.
type entryMeta struct {
	run, key    string
	kind, codec uint8
	voff, vlen  int
}

type commitReq struct {
	comp  *segment.Compressor // compresses the values (the DB's)
	vals  []byte              // stored values of the entries, back to back
	ents  []entryMeta         // the entries to write
	bound int64               // upper bound on the entries' bytes in a frame
	// decide, if set, runs in the leader before the request is written,
	// against the newest state. It may reset and re-add the entries
	// (none means write nothing) and set n; an error fails the request,
	// writing nothing.
	decide func(r *commitReq) error

	// marker asks for a sync marker instead of a commit (see
	// backgroundSync); it takes no version.
	marker bool
	// roll asks for the active segment to be sealed (if it holds a
	// commit) and a new one started: Compact's, so that every commit is
	// in a sealed segment it can rewrite.
	roll bool

	version uint64 // assigned version, 0 if nothing was written
	n       int64  // result of decide, for the caller
	err     error
	wake    chan bool // followers only: true to lead the next group, false when done
}

// reqs recycles the requests of Put and MPut, whose buffers then serve
// many commits.
var reqs = sync.Pool{New: func() any { return new(commitReq) }}

// maxPooledVals and maxPooledEnts bound the buffers a recycled request
// keeps: a batch of a thousand 100-byte values (100 KB) is recycled, so
// that its buffers are not grown again for each batch.
const (
	maxPooledVals = 1 << 20
	maxPooledEnts = 1 << 12
)

func getReq(comp *segment.Compressor) *commitReq {
	r := reqs.Get().(*commitReq)
	r.comp = comp
	return r
}

// putReq recycles r, which the pipeline is done with once commit returned.
func putReq(r *commitReq) {
	if cap(r.vals) > maxPooledVals || cap(r.ents) > maxPooledEnts {
		return
	}
	clear(r.ents) // do not pin keys
	*r = commitReq{vals: r.vals[:0], ents: r.ents[:0], wake: r.wake}
	reqs.Put(r)
}

// add adds an entry; value holds the value's encoded bytes (nil for a
// tombstone), compressed here when that pays.
func (r *commitReq) add(kind uint8, run, key string, value []byte) {
	voff, codec := len(r.vals), segment.CodecRaw
	if kind == segment.OpPut {
		if r.comp != nil {
			r.vals, codec = r.comp.Compress(r.vals, value)
		} else {
			r.vals, codec = segment.Compress(r.vals, value)
		}
	}
	vlen := len(r.vals) - voff
	r.ents = append(r.ents, entryMeta{run: run, key: key, kind: kind, codec: codec, voff: voff, vlen: vlen})
	r.bound += segment.EntryBound(len(run), len(key), vlen)
}

// truncate keeps the first n entries (a decide function re-adding some).
func (r *commitReq) truncate(n int) {
	if n == 0 {
		r.vals, r.ents, r.bound = r.vals[:0], r.ents[:0], 0
		return
	}
	r.ents = r.ents[:n]
	last := r.ents[n-1]
	r.vals = r.vals[:last.voff+last.vlen]
	r.bound = 0
	for _, e := range r.ents {
		r.bound += segment.EntryBound(len(e.run), len(e.key), e.vlen)
	}
}

func (r *commitReq) reset() { r.truncate(0) }

// prefetchGroup is how many keys of a batch have their index slots
// prefetched together before their Adds (16 measured no faster).
const prefetchGroup = 8

// commit runs r through the pipeline and returns its error.
func (db *DB) commit(r *commitReq) error {
	if err := db.failed(); err != nil {
		return err
	}
	p := &db.pipe
	p.mu.Lock()
	p.queue = append(p.queue, r)
	if p.leading {
		if r.wake == nil {
			r.wake = make(chan bool, 1) // only followers are woken
		}
		p.mu.Unlock()
		if lead := <-r.wake; !lead {
			return r.err
		}
		p.mu.Lock()
	} else {
		p.leading = true
	}
	batch := p.queue
	p.queue = nil
	p.mu.Unlock()
	if db.opts.Durability == Strict {
		// The writers the last group released are about to commit again:
		// give them the processor for a moment, so they join this group
		// and share its fsync instead of waiting for the next.
		runtime.Gosched()
		p.mu.Lock()
		batch = append(batch, p.queue...)
		p.queue = nil
		p.mu.Unlock()
	}

	db.runGroup(batch)

	p.mu.Lock()
	if len(p.queue) > 0 {
		p.queue[0].wake <- true
	} else {
		p.leading = false
	}
	p.mu.Unlock()
	for _, q := range batch {
		if q != r {
			q.wake <- false
		}
	}
	return r.err
}

// runGroup commits a group of requests; only the leader calls it. Each
// request's frame is appended to the active segment's buffer and its
// entries to the index; then the group is written with one write(2),
// synced once in Strict mode and published. If a frame does not fit the
// active segment, the frames appended so far are first finished that way
// as a group of their own, and the segment is rolled.
//
// Once a write or fsync fails, the database fails: the writer drops what
// it had buffered and cuts the file back to where the failed group began,
// so none of that group's bytes reach the file, and every request not
// yet acknowledged gets the error.
func (db *DB) runGroup(group []*commitReq) {
	p := &db.pipe
	ts := max(time.Now().UnixMicro(), p.lastTS)
	var clockErr error
	if ts < 0 || ts > index.MaxTimestamp {
		// A clock gone badly wrong: the index holds times from 1970 to
		// 2255. Commits and rolls (a new segment takes the time as its
		// base) are refused before anything is written.
		clockErr = fmt.Errorf("strata: the clock reads %s, outside what the index holds (1970 to 2255): nothing was written", time.UnixMicro(ts).UTC())
	}
	var pending []*commitReq // appended, not yet written
	for _, r := range group {
		if err := db.failed(); err != nil {
			r.err = err
			continue
		}
		if r.marker {
			if w := db.segs.Load().active; w.Size() > segment.HeaderSize {
				r.err = w.AppendMarker()
			}
			continue
		}
		if r.roll && clockErr != nil {
			r.err = clockErr
			continue
		}
		if r.roll {
			db.finishGroup(pending, ts)
			pending = pending[:0]
			if err := db.failed(); err != nil {
				r.err = err
				continue
			}
			if w := db.segs.Load().active; w.Size() > segment.HeaderSize {
				if err := db.roll(ts); err != nil {
					db.fail(err)
					r.err = db.failed()
				}
			}
			continue
		}
		if r.decide != nil {
			if err := r.decide(r); err != nil {
				r.err = err
				continue
			}
		}
		if len(r.ents) == 0 {
			continue
		}
		if clockErr != nil {
			r.err = clockErr
			continue
		}
		w := db.segs.Load().active
		if w.Size() > segment.HeaderSize && w.Size()+segment.MaxHead+r.bound > db.opts.SegmentSize {
			db.finishGroup(pending, ts)
			pending = pending[:0]
			if err := db.failed(); err != nil {
				r.err = err
				continue
			}
			if err := db.roll(ts); err != nil {
				db.fail(err)
				r.err = db.failed()
				continue
			}
			w = db.segs.Load().active
		}
		v := p.next
		p.specs = p.specs[:0]
		for _, e := range r.ents {
			p.specs = append(p.specs, segment.EntrySpec{Op: e.kind, Codec: e.codec, Run: e.run, Key: e.key, Value: r.vals[e.voff : e.voff+e.vlen]})
		}
		_, offs, err := w.AppendCommit(v, ts, p.specs, p.offs[:0])
		clear(p.specs) // do not pin the values
		p.offs = offs
		if err != nil {
			r.err = fmt.Errorf("strata: %w", err) // nothing was appended
			continue
		}
		for i, e := range r.ents {
			if i%prefetchGroup == 0 && len(r.ents) > 1 {
				// The index's slot of a key is a cache miss: load the
				// slots of the next few keys together, so that their
				// misses overlap, before their Adds.
				for _, a := range r.ents[i:min(i+prefetchGroup, len(r.ents))] {
					db.ix.Prefetch(a.run, a.key)
				}
			}
			rec := index.Record{
				Version:   v,
				Timestamp: ts,
				Segment:   w.ID(),
				Field:     segment.FieldAt(offs[i], e.vlen),
				Flags:     e.codec << index.FlagCodecShift,
			}
			if e.kind == segment.OpDelete {
				rec.Flags |= index.FlagTombstone
				rec.Field = 0
			}
			if err := db.addEntry(e.run, e.key, rec); err != nil {
				// The index could not take the entry (the system refused
				// it memory, or its 16 GiB are full): nothing more can be
				// committed. Drop every frame of the group still
				// buffered, this one's included, so that none reaches the
				// file; the requests appended before fail in finishGroup.
				err = fmt.Errorf("strata: index: %w", err)
				w.Abort(err, w.Flushed())
				db.fail(err)
				r.err = db.failed()
				break
			}
		}
		if r.err != nil {
			continue
		}
		p.next++
		r.version = v
		pending = append(pending, r)
	}
	db.finishGroup(pending, ts)
}

// finishGroup writes the frames of rs (appended to the active segment's
// buffer), syncs them in Strict mode and publishes their versions. On a
// failure none of them is acknowledged and the database fails.
func (db *DB) finishGroup(rs []*commitReq, ts int64) {
	p := &db.pipe
	w := db.segs.Load().active
	if w == nil { // a roll failed: the database has failed
		for _, r := range rs {
			r.version, r.err = 0, db.failed()
		}
		return
	}
	if len(rs) == 0 {
		if w.Pending() { // sync markers only
			if err := w.Flush(); err != nil {
				db.fail(err)
			}
			// A marker proves nothing once a power loss has taken it:
			// the next background sync makes it durable (and appends no
			// marker of its own, having no new commit to claim).
			p.dirty.Store(true)
		}
		return
	}
	start := w.Flushed()
	err := w.Flush()
	if err == nil && db.opts.Durability == Strict {
		err = db.fsync(w)
		if err == nil {
			// An fsync of these bytes by someone else (Sync) that
			// failed has failed the database: nothing proves them.
			err = db.failed()
		}
		if err != nil {
			// The group's bytes are in the file but not durable, and a
			// second fsync would prove nothing: cut them off.
			w.Abort(err, start)
		}
	}
	if err != nil {
		db.fail(err)
		for _, r := range rs {
			r.version, r.err = 0, db.failed()
		}
		return
	}
	p.lastTS = ts
	db.stats.commits.Add(int64(len(rs)))
	db.stats.groups.Add(1)
	if db.opts.Durability == Buffered {
		p.dirty.Store(true)
	}
	db.visible.Store(rs[len(rs)-1].version)
	db.waiters.wake()
}

// roll seals the active segment (its frames are all written: fsync, map)
// and starts the next, whose first commit takes the next version, and
// writes the manifest that lists the sealed one. Only the leader calls it.
func (db *DB) roll(ts int64) error {
	db.set.mu.Lock()
	defer db.set.mu.Unlock()
	t := db.segs.Load()
	old := t.active
	if db.opts.Durability != InMemory {
		if err := db.fsync(old); err != nil {
			return err
		}
	}
	// Seal the old segment (cut to its frames, durable) before the next
	// exists: a segment with a newer one after it is always whole.
	sealed, err := old.Seal(db.fs)
	if sealed == nil {
		return fmt.Errorf("segment %s: %w", old.Path(), err)
	}
	if err != nil { // its frames are durable: only a close failed
		db.log.Warn("strata: sealing a segment", "file", old.Path(), "err", err)
	}
	nt := t.with(sealed)
	id, err := db.newID()
	if err == nil {
		nt.active, err = db.createSegment(id, db.pipe.next, ts)
	}
	if err == nil {
		m := db.set.man
		m.Active = id
		m.Segments = append(m.Segments[:len(m.Segments):len(m.Segments)], segment.SegmentInfo{
			ID: old.ID(), Base: sealed.Header().BaseVersion, Last: db.pipe.next - 1, Size: int64(len(sealed.Bytes()))})
		err = db.writeManifest(m)
	}
	if err != nil {
		// The database fails with no active segment; reads go on.
		if nt.active != nil {
			nt.active.Close(false)
			nt.active = nil
		}
		db.segs.Store(nt)
		return err
	}
	db.segs.Store(nt)
	db.set.unhinted = append(db.set.unhinted, old.ID())
	db.set.uncached = append(db.set.uncached, old.ID())
	if db.compact.kick != nil {
		select {
		case db.compact.kick <- struct{}{}:
		default:
		}
	}
	// Readers still holding t may read old after Seal closed it: what
	// they find mapped stays mapped (the Sealed holds it); a read of the
	// file fails and is retried on the new table (see readValues).
	db.log.Debug("strata: sealed segment", "file", old.Path(), "next", nt.active.Path())
	return nil
}

// with returns a copy of t with the sealed segments added (the active
// segment unset).
func (t *segTable) with(sealed ...*segment.Sealed) *segTable {
	nt := &segTable{sealed: make(map[uint32]*segment.Sealed, len(t.sealed)+len(sealed))}
	for id, s := range t.sealed {
		nt.sealed[id] = s
	}
	for _, s := range sealed {
		nt.sealed[s.ID()] = s
	}
	return nt
}
