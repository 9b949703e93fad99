package kv

import (
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
// synced). Requests that arrive meanwhile queue up; when the leader is
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

	dirty atomic.Bool // Buffered: written since the last background sync
}

// entryMeta describes one entry of a request's encoded blob.
type entryMeta struct {
	run, key string
	ref      segment.EntryRef
	kind     uint8
}

type commitReq struct {
	blob []byte      // entries encoded by segment.AppendEntry
	ents []entryMeta // one per entry in blob
	// decide, if set, runs in the leader before the request is written,
	// against the newest state. It may replace blob and ents (empty means
	// write nothing) and set n; an error fails the request, writing
	// nothing.
	decide func(r *commitReq) error

	version uint64 // assigned version, 0 if nothing was written
	n       int64  // result of decide, for the caller
	err     error
	wake    chan bool // followers only: true to lead the next group, false when done
}

func (r *commitReq) add(kind uint8, run, key string, value []byte) {
	var ref segment.EntryRef
	r.blob, ref = segment.AppendEntry(r.blob, kind, run, key, value, true)
	r.ents = append(r.ents, entryMeta{run: run, key: key, ref: ref, kind: kind})
}

func (r *commitReq) reset() {
	r.blob, r.ents = r.blob[:0], r.ents[:0]
}

// commit runs r through the pipeline and returns its error.
func (db *DB) commit(r *commitReq) error {
	if err := db.failed(); err != nil {
		return err
	}
	p := &db.pipe
	p.mu.Lock()
	p.queue = append(p.queue, r)
	if p.leading {
		r.wake = make(chan bool, 1) // only followers are woken
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

// runGroup commits a group of requests; only the leader calls it.
func (db *DB) runGroup(group []*commitReq) {
	p := &db.pipe
	ts := max(time.Now().UnixMicro(), p.lastTS)
	var last uint64
	written := make([]*commitReq, 0, len(group))
	for _, r := range group {
		if err := db.failed(); err != nil {
			r.err = err
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
		w := db.segs.Load().active
		if w.Size() > segment.HeaderSize && w.Size()+int64(segment.FrameSize(len(r.blob))) > db.opts.SegmentSize {
			if err := db.roll(); err != nil {
				db.fail(err)
				r.err = db.failed()
				continue
			}
			w = db.segs.Load().active
		}
		v := p.next
		off := w.AppendFrame(v, ts, len(r.ents), r.blob)
		for _, e := range r.ents {
			rec := index.Record{
				Version:   v,
				Timestamp: ts,
				Segment:   w.ID(),
				Offset:    off + int64(segment.EntriesOffset+e.ref.Offset),
				Len:       uint32(e.ref.Len),
				Flags:     e.ref.Codec << index.FlagCodecShift,
			}
			if e.kind == segment.KindTombstone {
				rec.Flags |= index.FlagTombstone
			}
			db.ix.Add(e.run, e.key, rec)
		}
		p.next++
		r.version, last = v, v
		written = append(written, r)
	}
	if last == 0 {
		return
	}
	if err := db.failed(); err != nil {
		// A roll failed midway through the group (perhaps in its fsync):
		// nothing of the group is acknowledged, and no fsync is retried.
		for _, r := range written {
			r.version, r.err = 0, err
		}
		return
	}
	w := db.segs.Load().active
	err := w.Flush()
	if err == nil && db.opts.Durability == Strict {
		err = w.Sync()
	}
	if err != nil {
		db.fail(err)
		for _, r := range written {
			r.version, r.err = 0, db.failed()
		}
		return
	}
	p.lastTS = ts
	if db.opts.Durability == Buffered {
		p.dirty.Store(true)
	}
	db.visible.Store(last)
}

// roll seals the active segment (flush, fsync, map) and starts the next.
// Only the leader calls it.
func (db *DB) roll() error {
	t := db.segs.Load()
	old := t.active
	if err := old.Flush(); err != nil {
		return err
	}
	if db.opts.Durability != InMemory {
		if err := old.Sync(); err != nil {
			return err
		}
	}
	sealed, err := segment.OpenSealed(db.fs, old.Path())
	if err != nil {
		return err
	}
	w, err := segment.Create(db.fs, db.dir, old.ID()+1)
	if err != nil {
		sealed.Close()
		return err
	}
	nt := &segTable{sealed: make(map[uint32]*segment.Sealed, len(t.sealed)+1), active: w}
	for id, s := range t.sealed {
		nt.sealed[id] = s
	}
	nt.sealed[old.ID()] = sealed
	db.segs.Store(nt)
	// Readers still holding t may read old after this Close; they fail
	// and retry on the new table (see readValue).
	if err := old.Close(false); err != nil {
		db.log.Warn("strata: closing sealed segment", "file", old.Path(), "err", err)
	}
	db.log.Debug("strata: sealed segment", "file", old.Path(), "next", w.Path())
	return nil
}
