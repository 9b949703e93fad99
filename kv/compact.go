package kv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/strata-kv/strata/compaction"
	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/segment"
)

// pins counts the snapshot versions transactions read at, so compaction
// keeps what they need.
type pins struct {
	mu sync.Mutex
	n  map[uint64]int
}

func (p *pins) add(v uint64) {
	p.mu.Lock()
	if p.n == nil {
		p.n = map[uint64]int{}
	}
	p.n[v]++
	p.mu.Unlock()
}

func (p *pins) remove(v uint64) {
	p.mu.Lock()
	if p.n[v]--; p.n[v] <= 0 {
		delete(p.n, v)
	}
	p.mu.Unlock()
}

// oldest returns the oldest pinned version (math.MaxUint64: none).
func (p *pins) oldest() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.oldestLocked()
}

// oldestLocked is oldest with p.mu held.
func (p *pins) oldestLocked() uint64 {
	low := uint64(math.MaxUint64)
	for v := range p.n {
		low = min(low, v)
	}
	return low
}

// compactor runs one compaction at a time, in the background or for
// Compact.
type compactor struct {
	sem  chan struct{} // holds a token while a job runs
	stop chan struct{}
	done chan struct{}
	kick chan struct{} // a roll happened: look for work
	// hurry counts Compact and Checkpoint calls waiting: a background
	// job in progress then runs unpaced, so that they do not wait on its
	// sleeps.
	hurry atomic.Int32
	// idle is the state the last background look found nothing dead
	// enough in (nil: none yet, or it found work): a look at the same
	// state would walk the whole index to find the same (background
	// goroutine only).
	idle *lookState
	// walks counts deadBySegment's walks, for tests.
	walks atomic.Int64
}

// lookState is what decides which versions a KeepVersions policy lets
// compaction drop, and how many bytes that frees in which segment: the
// versions published, the segments, and the versions readers and forks
// pin. (With KeepFor, versions also age out while nothing changes.)
type lookState struct {
	visible uint64
	segs    weak.Pointer[segTable] // not the table: it keeps its segments mapped
	pol     compaction.Policy
}

// same reports whether a background look at pol, with the database as
// it is now, would find what the look that recorded s found.
func (s *lookState) same(db *DB, pol compaction.Policy) bool {
	return s != nil && pol.KeepFor <= 0 && s.visible == db.visible.Load() && s.segs == weak.Make(db.segs.Load()) &&
		s.pol.KeepVersions == pol.KeepVersions && s.pol.Pin == pol.Pin && maps.Equal(s.pol.Pins, pol.Pins)
}

func (c *compactor) init() {
	c.sem = make(chan struct{}, 1)
}

// policy returns the retention policy now, for a compaction.
//
// A version is dropped only for a successor that is durable: a crash
// may take back commits not yet fsynced, and must then find the versions
// they superseded. So the policy pins the newest version published when
// it is made (in Buffered mode after an fsync of the active segment,
// which makes every published version durable; in Strict they are so
// when published; InMemory promises nothing across a crash).
func (db *DB) policy() (compaction.Policy, error) {
	durable := db.visible.Load()
	if db.opts.Durability == Buffered && !db.opts.ReadOnly {
		w := db.segs.Load().active
		if w == nil {
			// A roll failed: the database has failed, or is about to
			// (roll clears the active segment before its caller records
			// the failure).
			if err := db.failed(); err != nil {
				return compaction.Policy{}, err
			}
			return compaction.Policy{}, errNoActive
		}
		if err := db.fsync(w); err != nil {
			db.fail(err)
			return compaction.Policy{}, db.failed()
		}
	}
	return compaction.Policy{
		KeepVersions: db.opts.Retention.KeepVersions,
		KeepFor:      db.opts.Retention.KeepFor,
		Now:          time.Now().UnixMicro(),
		Pin:          min(db.pins.oldest(), durable),
		Pins:         db.forkPins(),
	}, nil
}

// forkedSince reports whether pins, the fork pins now, hold one below
// what pol, a job's policy, let the job drop.
func forkedSince(pol compaction.Policy, pins map[string]uint64) bool {
	for run, at := range pins {
		if at < pol.For(run, true).Pin {
			return true
		}
	}
	return false
}

// forkPins returns, for each run forked from, the oldest version a fork
// reads it at (the fork events in the index, visible or not: a fork
// committing now already counts).
func (db *DB) forkPins() map[string]uint64 {
	var pins map[string]uint64
	for it := db.ix.Seek(segment.EventRun, string(segment.EventFork)); it.Valid(); it.Next() {
		ev, err := segment.ParseEvent([]byte(it.Chain().KeyView()))
		if err != nil || ev.Kind != segment.EventFork {
			break
		}
		if pins == nil {
			pins = map[string]uint64{}
		}
		if p, ok := pins[ev.Src]; !ok || ev.At < p {
			pins[ev.Src] = ev.At
		}
	}
	return pins
}

// retention is the policy without the durability pin, for what does
// not drop anything (Stats).
func (db *DB) retention() compaction.Policy {
	return compaction.Policy{
		KeepVersions: db.opts.Retention.KeepVersions,
		KeepFor:      db.opts.Retention.KeepFor,
		Now:          time.Now().UnixMicro(),
		Pin:          db.pins.oldest(),
		Pins:         db.forkPins(),
	}
}

// Compact rewrites every segment holding versions Retention lets it drop,
// so that when it returns nil every version outside Retention is trimmed
// (reads of them return ErrHistoryTrimmed), and gives their space back.
// It first seals the active segment if that holds anything to drop, so
// that what was committed before the call is covered. Then, Retention
// or not, it merges each run of mergeMin (16) or more small log segments
// in a row (under a quarter of SegmentSize each, not compaction's
// outputs) into as few as SegmentSize allows, dropping nothing. It
// waits for a background compaction in progress. A cancelled ctx stops
// it promptly with an error wrapping ctx.Err(),
// leaving the database as it was or compacted, never in between. Reads
// and writes go on while it runs; versions a running View, ViewAt or
// Update reads at are kept until it ends. A job that finds, as it
// switches its output in, a snapshot it did not allow for (a ViewAt of
// an old version begun meanwhile) is abandoned and tried again; after
// maxCompactAttempts such tries Compact returns the error (the database
// as it was or partly compacted, nothing lost: call it again).
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
	if err := db.failed(); err != nil {
		return CompactStats{}, err
	}
	db.compact.hurry.Add(1)
	defer db.compact.hurry.Add(-1)
	select {
	case db.compact.sem <- struct{}{}:
	case <-ctx.Done():
		return CompactStats{}, fmt.Errorf("strata: compact: %w", ctx.Err())
	}
	defer func() { <-db.compact.sem }()
	if err := db.failed(); err != nil { // while it waited for the token
		return CompactStats{}, err
	}
	var st CompactStats
	for attempt := 1; !db.retention().KeepsAll(); attempt++ {
		pol, err := db.policy()
		if err != nil {
			return st, fmt.Errorf("strata: compact: %w", err)
		}
		dead := db.deadBySegment(pol)
		if w := db.segs.Load().active; w != nil && dead[w.ID()].dead > 0 {
			// Versions in the active segment may go: seal it, so that
			// what was committed before the call is covered.
			if err := db.commit(&commitReq{roll: true}); err != nil {
				return st, fmt.Errorf("strata: compact: %w", err)
			}
		}
		for _, run := range db.runsOf(func(s segment.SegmentInfo) bool { return dead[s.ID].dead > 0 }) {
			if err = ctx.Err(); err != nil {
				break
			}
			var js CompactStats
			js, err = db.compactRun(ctx, run, pol, nil)
			st.add(js)
			if err != nil {
				break
			}
		}
		switch {
		case errors.Is(err, errPinned) && attempt < maxCompactAttempts:
			continue // again, allowing for the snapshots now pinned
		case err != nil:
			return st, fmt.Errorf("strata: compact: %w", err)
		}
		break
	}
	// Then the small segments, Retention or not (see mergeMin). A merge
	// drops nothing, so no snapshot pinned meanwhile abandons it.
	ms, err := db.mergeSmall(ctx, db.smallRuns(), nil)
	st.add(ms)
	if err != nil {
		return st, fmt.Errorf("strata: compact: %w", err)
	}
	return st, nil
}

// maxCompactAttempts bounds how often Compact starts over because older
// snapshots were pinned while it ran.
const maxCompactAttempts = 8

// runsOf returns the sealed segments pick chooses, grouped into runs of
// segments whose versions follow one another, oldest first. Empty
// segments (a compaction that kept nothing of its range leaves one, to
// cover the range) join the run they border, so that they are merged
// away instead of piling up; a run of nothing but empty ones is left.
func (db *DB) runsOf(pick func(segment.SegmentInfo) bool) [][]compaction.Input {
	db.set.mu.Lock()
	infos := db.set.man.Segments
	db.set.mu.Unlock()
	t := db.segs.Load()
	var runs [][]compaction.Input
	var cur []compaction.Input
	picked := false // cur holds a segment pick chose
	end := func() {
		if picked {
			runs = append(runs, cur)
		}
		cur, picked = nil, false
	}
	for _, info := range infos {
		s := t.sealed[info.ID]
		empty := info.Size == segment.HeaderSize
		switch {
		case s == nil:
			end()
		case pick(info):
			cur, picked = append(cur, compaction.Input{Seg: s, Info: info}), true
		case empty:
			cur = append(cur, compaction.Input{Seg: s, Info: info})
		default:
			end()
		}
	}
	end()
	return runs
}

// errNoActive: the active segment is gone, a roll having failed, and the
// failure is not recorded yet.
var errNoActive = errors.New("strata: no active segment (a roll failed)")

// errPinned: a compaction job was abandoned because a snapshot older than
// its policy allowed for was pinned while it ran (see compactRun).
var errPinned = errors.New("strata: compaction abandoned: a snapshot it did not allow for was taken meanwhile")

// compactRun rewrites one run of segments and switches the outputs in
// (see package compaction, Protocol).
func (db *DB) compactRun(ctx context.Context, inputs []compaction.Input, pol compaction.Policy, pace func(int)) (CompactStats, error) {
	job := compaction.Job{FS: db.fs, Dir: db.dir, Index: db.ix, Inputs: inputs, Policy: pol,
		MaxSize: db.opts.SegmentSize, Pace: pace,
		NewID: func() (uint32, error) {
			db.set.mu.Lock()
			defer db.set.mu.Unlock()
			return db.newID()
		}}
	res, err := compaction.Run(ctx, job)
	if err != nil {
		return CompactStats{}, err
	}
	if res.VersionsDropped == 0 && len(res.Outputs) >= len(inputs) {
		// The outputs hold what the inputs do, in as many files:
		// switching them in would rewrite the same versions under new
		// names, at every look. (Fewer files is a merge: see mergeSmall.)
		res.Close(db.fs)
		return CompactStats{}, nil
	}
	for _, o := range res.Outputs {
		// Before the switch: an output the switch never lists is removed,
		// hint and all, by the next Open.
		db.writeHint(o.Seg, o.Info.Last)
	}
	drop := make(map[uint32]bool, len(inputs))
	for _, in := range inputs {
		drop[in.Info.ID] = true
	}
	outs := make([]segment.SegmentInfo, len(res.Outputs))
	sealed := make([]*segment.Sealed, len(res.Outputs))
	for i, o := range res.Outputs {
		outs[i], sealed[i] = o.Info, o.Seg
	}

	// The switch: the manifest first (the commit point), then the
	// horizon, the table with the outputs, the index, the table without
	// the inputs, and last the inputs' files. A snapshot pinned since the
	// job took its policy, below the policy's pin, may need what the job
	// dropped, and so may a fork committed since (its temporary pin may
	// be gone, its event stays): then the job is abandoned (its outputs
	// removed) and errPinned returned. The check and the horizon's move are one step
	// under the pins' lock, so a snapshot pinned later sees the new
	// horizon (and says ErrHistoryTrimmed) instead. A job that dropped
	// nothing (a merge of small segments) takes nothing from anyone.
	db.set.mu.Lock()
	db.pins.mu.Lock()
	dropped := res.VersionsDropped > 0 || res.Trimmed > 0
	if dropped && (db.pins.oldestLocked() < pol.Pin || forkedSince(pol, db.forkPins())) {
		db.pins.mu.Unlock()
		db.set.mu.Unlock()
		for _, o := range res.Outputs {
			db.removeHint(o.Info.ID)
		}
		res.Close(db.fs)
		return CompactStats{}, errPinned
	}
	m := db.set.man
	m.Segments = replaceSegments(m.Segments, drop, outs)
	m.Trimmed = max(m.Trimmed, res.Trimmed)
	m.Vanished = max(m.Vanished, res.Vanished)
	if err := db.writeManifest(m); err != nil {
		db.pins.mu.Unlock()
		db.set.mu.Unlock()
		// Whether the new manifest reached the disk is unknown: leave
		// every file for the next Open to sort out, and stop writing.
		db.fail(err)
		return CompactStats{}, db.failed()
	}
	db.trimmed.Store(max(db.trimmed.Load(), m.Trimmed))
	db.vanished.Store(max(db.vanished.Load(), m.Vanished))
	db.dropped.Store(max(db.dropped.Load(), res.NewestDropped)) // before the table holds the outputs
	db.pins.mu.Unlock()
	t := db.segs.Load().with(sealed...)
	t.active = db.segs.Load().active
	db.segs.Store(t)
	for _, o := range outs {
		db.set.uncached = append(db.set.uncached, o.ID)
	}
	db.set.mu.Unlock()

	if err := res.Apply(db.ix); err != nil {
		db.fail(err)
		return CompactStats{}, db.failed()
	}

	db.set.mu.Lock()
	cur := db.segs.Load()
	t = &segTable{sealed: make(map[uint32]*segment.Sealed, len(cur.sealed)), active: cur.active}
	for id, s := range cur.sealed {
		if !drop[id] {
			t.sealed[id] = s
		}
	}
	db.segs.Store(t)
	db.set.mu.Unlock()

	for _, in := range inputs {
		// Readers that loaded an older table may still read it: its
		// mapping goes when they are done.
		in.Seg.Retire()
		if err := db.fs.Remove(in.Seg.Path()); err != nil {
			db.log.Warn("strata: compaction could not remove a segment it replaced; the next Open will", "file", in.Seg.Path(), "err", err)
		}
		db.removeHint(in.Info.ID)
		db.marks.Delete(in.Info.ID) // its frame index (see Changes)
	}
	if err := db.fs.SyncDir(db.dir); err != nil {
		db.log.Warn("strata: compaction: sync the directory", "dir", db.dir, "err", err)
	}
	// Collect the tables that held the inputs, so their mappings, and the
	// disk space of their removed files, go now rather than at some
	// later collection. (The index is outside the heap: this is cheap.)
	runtime.GC()
	// A merge that drops nothing may write a few bytes more than it read
	// (each frame's version is a delta from its segment's base, longer
	// from the merged one): nothing was freed.
	st := CompactStats{SegmentsIn: len(inputs), SegmentsOut: len(res.Outputs),
		BytesReclaimed: max(res.BytesIn-res.BytesOut, 0), VersionsDropped: res.VersionsDropped}
	db.log.Debug("strata: compacted", "segments_in", st.SegmentsIn, "segments_out", st.SegmentsOut,
		"bytes_reclaimed", st.BytesReclaimed, "versions_dropped", st.VersionsDropped)
	return st, nil
}

// deadShare estimates what of a segment compaction may drop: the
// estimated bytes of the versions it may drop (each counted as its
// stored value, its key and an estimate of its framing) and the bytes of
// the segment's frames. Their ratio is the dead share of the file.
//
// dep is the part of dead in versions whose key has older droppable
// versions in another segment: a job drops a version only with every
// older version of its key among its inputs or gone, so those go only
// with that segment (see compactDead). mean is the mean length of the
// values sampled (0: none).
type deadShare struct {
	dead, all, dep int64
	mean           float64
}

// of returns the dead share of size bytes.
func (d deadShare) of(size int64) int64 {
	if d.all == 0 {
		return 0
	}
	return min(size, int64(float64(size)*float64(d.dead)/float64(d.all)))
}

// deadBySegment returns, for each segment holding a version the policy
// lets compaction drop, the share of it that may go: a walk over every
// key of the index, which reads the lengths of a sample of such
// versions' values from their segments.
func (db *DB) deadBySegment(pol compaction.Policy) map[uint32]deadShare {
	shares := map[uint32]deadShare{}
	if pol.KeepsAll() {
		return shares
	}
	db.compact.walks.Add(1)
	type acc struct {
		dead    int64 // the bytes known of the versions that may go
		unknown int64 // values beyond the sample
		// depKnown and depUnknown are dead and unknown for the versions
		// whose key has an older droppable version in another segment.
		depKnown, depUnknown int64
	}
	accs := map[uint32]*acc{}
	t := db.segs.Load()
	vs := db.newValueSampler(t)
	defer vs.done()
	// A fault (a file truncated under its mapping) ends the walk: what it
	// found so far is the estimate, and reads report the damage.
	db.walkDroppable(pol, vs, func(c index.Chain, recs []index.Record, drop int) bool {
		klen := int64(len(c.KeyView()))
		first := oldestSegment(recs, drop) // where the key's droppable versions begin
		for _, r := range recs[drop:] {
			if r.Synthetic() {
				// No entry of its own (compaction drops a DropRun's
				// deletion with the version below it).
				continue
			}
			a := accs[r.Segment]
			if a == nil {
				a = &acc{}
				accs[r.Segment] = a
			}
			known, unknown := klen+entryOverhead, int64(0)
			if !r.Tombstone() {
				if n, ok := vs.length(r); ok {
					known += n
				} else {
					unknown = 1
				}
			}
			a.dead += known
			a.unknown += unknown
			if r.Segment != first {
				a.depKnown += known
				a.depUnknown += unknown
			}
		}
		return true
	})
	for id, a := range accs {
		sh := deadShare{dead: a.dead, dep: a.depKnown}
		if sh.mean = vs.mean(id); sh.mean > 0 {
			sh.dead += int64(float64(a.unknown) * sh.mean)
			sh.dep += int64(float64(a.depUnknown) * sh.mean)
		}
		shares[id] = sh
	}
	last := db.segs.Load()
	for id, sh := range shares {
		size := int64(0)
		for _, t := range []*segTable{t, last} {
			if s := t.sealed[id]; s != nil {
				size = int64(len(s.Bytes()))
			} else if w := t.active; w != nil && w.ID() == id {
				size = w.Flushed()
			}
		}
		if sh.all = size - segment.HeaderSize; sh.all <= 0 {
			delete(shares, id) // gone since
			continue
		}
		// The sample may count a segment's versions at more than its
		// bytes (a key's versions there at the length of one of them).
		sh.dead = min(sh.dead, sh.all)
		sh.dep = min(sh.dep, sh.dead)
		shares[id] = sh
	}
	return shares
}

// walkDroppable calls fn for each key of the index with versions pol
// lets compaction drop: its chain, its records newest first and the
// index in them of its newest droppable one (see droppable), with vs
// started on the key; fn returns false to end the walk. A fault (a file
// truncated under its mapping, met by vs's reads) ends it too.
func (db *DB) walkDroppable(pol compaction.Policy, vs *valueSampler, fn func(c index.Chain, recs []index.Record, drop int) bool) {
	var recs []index.Record
	_ = segment.GuardFaults(func() error {
		db.ix.Chains(func(c index.Chain) bool {
			var drop int
			if recs, drop = droppable(c, pol, recs); drop < 0 {
				return true
			}
			vs.key()
			return fn(c, recs, drop)
		})
		return nil
	}, func() (string, int64) { return "", 0 })
}

// deadSample is how many keys' droppable values in a segment a walk
// (deadBySegment's, needTrie's) reads the length of, at most, and how
// many further values of those keys (see valueSampler): a walk reads at
// most twice deadSample values of a segment. needTrie's walk, which runs
// only when some segment is needy, reads the same ones again.
const deadSample = 256

// valueSampler gives a walk over the index the lengths of droppable
// values, read from their segments for a sample of up to deadSample keys
// a segment, so that a walk reads a bounded number of pages of each
// segment however many versions may go. A key's first droppable value in
// a segment is read (walks go newest first; while the segment's sample
// has room) and, from a second allowance of deadSample reads a segment,
// up to keyReads-1 more; its older ones there count at the length of the
// last read (a key's versions are most often alike, and the newest tell
// best what the older ones near them were: 600 counter values then a
// document are not 601 documents). The values of keys beyond the sample
// count at the mean of the first reads (one a key, so that keys written
// often weigh no more in it than others). Keys come in the index's hash
// order, which has nothing to do with their values' sizes.
type valueSampler struct {
	db       *DB
	t, newer *segTable
	vis      uint64
	segs     map[uint32]*[3]int64 // a segment: first reads, their bytes, and further reads
	keyOf    []keySample          // the values the current key gave
}

// keyReads is how many of a key's values in a segment a valueSampler
// reads, at most.
const keyReads = 4

// keySample is the length of the last value of a key read in segment
// seg, and how many were read.
type keySample struct {
	seg   uint32
	n     int64
	reads int
}

func (db *DB) newValueSampler(t *segTable) *valueSampler {
	return &valueSampler{db: db, t: t, vis: db.visible.Load(), segs: map[uint32]*[3]int64{}}
}

// key starts the next key.
func (vs *valueSampler) key() { vs.keyOf = vs.keyOf[:0] }

// length returns the length of r's value (not a tombstone's): read now
// if the key has had fewer than keyReads read in r's segment and the
// segment's allowance for this read (a first one, or a further one) has
// room, else the last read there; false when the key has none read
// there.
func (vs *valueSampler) length(r index.Record) (int64, bool) {
	i := slices.IndexFunc(vs.keyOf, func(k keySample) bool { return k.seg == r.Segment })
	if i >= 0 && vs.keyOf[i].reads >= keyReads {
		return vs.keyOf[i].n, true
	}
	a := vs.segs[r.Segment]
	if a == nil {
		a = new([3]int64)
		vs.segs[r.Segment] = a
	}
	room := a[0] < deadSample
	if i >= 0 {
		room = a[2] < deadSample
	}
	var b []byte
	read := room && r.Version <= vs.vis
	if read {
		var err error
		b, _, err = vs.db.readStored(vs.t, r, &vs.newer)
		read = err == nil
	}
	if !read {
		if i >= 0 {
			return vs.keyOf[i].n, true
		}
		return 0, false
	}
	n := int64(len(b))
	if i < 0 {
		a[0]++
		a[1] += n
		vs.keyOf = append(vs.keyOf, keySample{seg: r.Segment})
		i = len(vs.keyOf) - 1
	} else {
		a[2]++
	}
	vs.keyOf[i].n = n
	vs.keyOf[i].reads++
	return n, true
}

// mean returns the mean length of the values read in segment id (0:
// none).
func (vs *valueSampler) mean(id uint32) float64 {
	if a := vs.segs[id]; a != nil && a[0] > 0 {
		return float64(a[1]) / float64(a[0])
	}
	return 0
}

// done keeps the tables the values were read from until the walk ends.
func (vs *valueSampler) done() { runtime.KeepAlive(vs.t); runtime.KeepAlive(vs.newer) }

// entryOverhead estimates an entry's bytes in a frame beyond its key and
// value: flags and lengths, and its share of the frame's head and
// checksum (a frame of one entry adds about 16 bytes).
const entryOverhead = 16

// background runs while a writable database is open: when it opens, after
// each roll, and every few seconds (time moves KeepFor's window), it reads
// the segments written since its last look back in huge pages
// (recacheWritten), writes the hint files of newly sealed segments,
// merges runs of small log segments (mergeSmall, unless CompactAt is
// negative) and, when Retention and CompactAt call for it, rewrites the
// runs of sealed segments whose dead fraction reaches CompactAt, one job
// at a time, paced to leave most of the machine to the writers.
//
// Its first look is taken at once, whether or not Close has come
// meanwhile: a select on a Close already come and a kick would pick
// either at random, and a process too short for the goroutine to start
// before Close (the CLI, a process per request) then merged its small
// segments at one Open in two (CI saw 40 Opens leave 19 segments).
func (db *DB) background() {
	defer close(db.compact.done)
	tick := time.NewTicker(backgroundEvery)
	defer tick.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-db.compact.stop:
				return
			case <-tick.C:
			case <-db.compact.kick:
			}
		}
		select {
		case db.compact.sem <- struct{}{}:
		default:
			continue // Compact is running
		}
		db.backgroundPass()
		<-db.compact.sem
	}
}

// backgroundPass is one look of the background goroutine for work:
// segments to read back in huge pages, hints to write, runs of small
// segments to merge, then segments dead enough to compact, unless nothing
// changed since a look that found none (an idle database with a
// retention policy would otherwise walk its whole index every
// backgroundEvery). With compact.sem held.
func (db *DB) backgroundPass() {
	db.recacheWritten() // first: the hints' scans then read from the cache
	db.writeHints()
	if db.failed() != nil {
		return
	}
	if db.opts.CompactAt > 0 {
		db.mergeChunks()
	}
	if db.opts.CompactAt <= 0 || db.retention().KeepsAll() || db.failed() != nil {
		return
	}
	select {
	case <-db.compact.stop:
		return // Close has come: a walk of the index for jobs it would cancel
	default:
	}
	pol, err := db.policy()
	if err != nil || db.compact.idle.same(db, pol) {
		return
	}
	// The state is taken before the walk: a commit during it makes the
	// next look walk again.
	state := &lookState{visible: db.visible.Load(), segs: weak.Make(db.segs.Load()), pol: pol}
	db.compact.idle = nil
	if !db.compactDead(pol) {
		db.compact.idle = state
	}
}

// stopContext returns a context cancelled when Close stops the background
// goroutine (or when cancel is called): a background job's.
func (db *DB) stopContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-db.compact.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// mergeMin is how many small sealed segments in a row (in version order)
// are merged; a segment is small under a quarter of SegmentSize. Every
// writable Open starts a segment of its own, so a database opened for a
// few writes at a time (the CLI, a process per request) would otherwise
// pile up small files, each mapped, hinted and read at every Open, and
// compaction, which rewrites what Retention lets it drop, would never
// touch them where nothing is dead. A merge's output is a compacted
// segment, which recovery cannot read as a log without the MANIFEST
// (salvage of a damaged MANIFEST then refuses): so merges wait for a
// run long enough to cost something at every Open. (A var for the
// tests of the picker, whose looks must not merge.)
var mergeMin = 16

// mergeFinishMax bounds the bytes of a chunk of small segments the
// background look merges in one job, which it finishes even when Close
// comes meanwhile (Close waits for it, unpaced: up to 50-80 ms here for
// 4 MiB). A merge started at Open in a process that closes soon after
// (the CLI, a process per request) would otherwise be cut short at every
// Close, and the files never merged (review 40); a run merged whole,
// however large, would be cut short as soon as it passed what a process
// lives through, and grow at every Open (review 41).
const mergeFinishMax = 4 << 20

// mergeChunks is the background look's merge: each run of smallRuns, in
// chunks of segments in a row of at most mergeFinishMax bytes in all
// (two segments at least), one job each, oldest first. A segment that
// cannot join the next in a chunk that size is passed over (left to
// Compact), so every chunk is at most mergeFinishMax bytes and is
// finished whatever Close does (review 42: a chunk allowed past it, and
// so cancelled by Close, was retried and cut short at every Open, or,
// having fewer than 256 commits for compaction.Run to check its context
// at, kept Close waiting for up to two segments of SegmentSize/4). Once
// Close has come, the look starts no chunk but its first: so that a
// process too short for its look to begin before Close (the look runs
// at Open) still merges a chunk.
func (db *DB) mergeChunks() {
	first := true
	for _, run := range db.smallRuns() {
		for len(run) >= 2 {
			n, size := 1, run[0].Info.Size
			for n < len(run) && size+run[n].Info.Size <= mergeFinishMax {
				size += run[n].Info.Size
				n++
			}
			if n < 2 {
				run = run[1:] // too big to pair with the next: passed over
				continue
			}
			chunk := run[:n]
			run = run[n:]
			if !first {
				select {
				case <-db.compact.stop:
					return
				default:
				}
			}
			first = false
			if _, err := db.mergeSmall(context.Background(), [][]compaction.Input{chunk}, db.pace()); err != nil {
				db.log.Warn("strata: merging small segments failed", "err", err)
				return
			}
		}
	}
}

// smallRuns returns the runs of at least mergeMin small log segments
// (sealed, written by commits, not by compaction) whose versions follow
// one another, oldest first. A merge's output is not merged again, so
// that merges rewrite each byte once: where the outputs did join the
// next run, a database opened for a few writes at a time was rewritten
// whole every 15 Opens until it reached a quarter of SegmentSize (the
// first version of review 39's test, 600 Opens: 19.6 bytes rewritten
// for each written). The price: the outputs pile up, one for every
// chunk the look merges (see mergeChunks).
func (db *DB) smallRuns() [][]compaction.Input {
	small := db.opts.SegmentSize / 4
	t := db.segs.Load()
	var runs [][]compaction.Input
	for _, run := range db.runsOf(func(s segment.SegmentInfo) bool {
		sealed := t.sealed[s.ID]
		return s.Size < small && sealed != nil && !sealed.Header().Compacted()
	}) {
		if len(run) >= mergeMin {
			runs = append(runs, run)
		}
	}
	return runs
}

// mergeSmall rewrites each of runs (smallRuns') into as few segments as
// SegmentSize allows, with compact.sem held. It drops nothing, whatever
// Retention says (what Retention lets go is compactDead's and Compact's,
// at CompactAt): so no snapshot holds a merge back, and the versions it
// rewrites need not be durable first.
func (db *DB) mergeSmall(ctx context.Context, runs [][]compaction.Input, pace func(int)) (CompactStats, error) {
	var st CompactStats
	keepAll := compaction.Policy{Now: time.Now().UnixMicro()}
	for _, run := range runs {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		js, err := db.compactRun(ctx, run, keepAll, pace)
		st.add(js)
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// add adds the counts of o to st.
func (st *CompactStats) add(o CompactStats) {
	st.SegmentsIn += o.SegmentsIn
	st.SegmentsOut += o.SegmentsOut
	st.BytesReclaimed += o.BytesReclaimed
	st.VersionsDropped += o.VersionsDropped
}

// backgroundEvery is how often background compaction looks for work
// without a roll to prompt it.
const backgroundEvery = 5 * time.Second

// compactDead runs a job for each run of segments dead enough, and
// reports whether any switched its outputs in or failed (a look at the
// same state would then find something else).
func (db *DB) compactDead(pol compaction.Policy) bool {
	dead := db.deadBySegment(pol)
	ctx, cancel := db.stopContext()
	defer cancel()
	// A sealed segment is compacted when what a job on it would drop
	// reaches CompactAt of it. Alone, that is its dead bytes less those
	// that go only with an older segment (deadShare.dep). A segment dead
	// enough but not alone is needy: a version goes in a job only with
	// every older droppable version of its key, so a job on a needy
	// segment alone could drop nothing (and would be run at every look
	// under writes). When some segment is needy, a second walk builds the
	// trie of which segments each droppable version needs, and the
	// segments worth a job with the others (needy ones, and live ones a
	// key began in or passed through) are added by the rule at the top of
	// compact_pick.go.
	pick, needy := db.splitDead(dead)
	if len(needy) > 0 {
		db.addNeeded(pol, dead, pick)
	}
	worked := false
	for _, run := range db.runsOf(func(s segment.SegmentInfo) bool { return pick[s.ID] }) {
		st, err := db.compactRun(ctx, run, pol, db.pace())
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, errPinned) {
				db.log.Warn("strata: background compaction failed", "err", err)
			}
			return true // look again
		}
		worked = worked || st.SegmentsIn > 0
	}
	return worked
}

// droppable returns c's records, newest first, in recs (reused), and
// the index in them of the newest version pol lets compaction drop with
// every older one (-1: none; always for run events, never dropped).
func droppable(c index.Chain, pol compaction.Policy, recs []index.Record) ([]index.Record, int) {
	recs = recs[:0]
	run := c.Run()
	if run == segment.EventRun {
		return recs, -1
	}
	c.Raw(func(r index.Record) bool {
		recs = append(recs, r)
		return true
	})
	drop, _ := pol.For(run, c.Linked()).Horizon(recs, nil)
	return recs, drop
}

// oldestSegment returns the segment of the oldest of the droppable
// versions recs[drop:] that has an entry of its own (0: none).
func oldestSegment(recs []index.Record, drop int) uint32 {
	for i := len(recs) - 1; i >= drop; i-- {
		if !recs[i].Synthetic() {
			return recs[i].Segment
		}
	}
	return 0
}

// needTrie is, for one look, the index's droppable versions grouped by
// the segments they need. A node stands for the droppable versions of a
// key in one segment and is named by that segment and its parent: the
// node of the key's droppable versions in the segment before (the root,
// node 0, for the key's oldest). Keys whose droppable versions lie in
// the same segments share their nodes, so the trie has a node for each
// distinct path of segments, at most one for each version. A job drops
// a version only with every older version of its key among its inputs
// or gone, so a node's versions go when its segment and every segment
// on its path are compacted (runs go oldest first, each job's drops in
// the index before the next decides). Nodes are numbered parents first.
type needTrie struct {
	nodes []needNode
	bySeg map[uint32][]int32 // the nodes of each segment
}

// needNode is a node of a needTrie: child is its first child and
// sibling the next child of its parent (0: none), bytes the estimated
// bytes of its versions (as deadBySegment estimates them).
type needNode struct {
	parent, child, sibling int32
	seg                    uint32
	bytes                  int64
}

// needTrie walks the index again (only when some segment is needy) for
// the trie of its droppable versions.
func (db *DB) needTrie(pol compaction.Policy, dead map[uint32]deadShare) *needTrie {
	t := &needTrie{nodes: make([]needNode, 1, 64), bySeg: map[uint32][]int32{}}
	ids := map[uint64]int32{} // parent<<32 | segment: the node
	vs := db.newValueSampler(db.segs.Load())
	defer vs.done()
	var lens []int64 // a key's droppable versions' bytes, as recs[drop:]
	// A fault ends the walk: the trie holds what it found so far.
	db.walkDroppable(pol, vs, func(c index.Chain, recs []index.Record, drop int) bool {
		klen := int64(len(c.KeyView()))
		// The lengths first, newest first as deadBySegment reads them
		// (so that both sample the same version of a key in a segment).
		lens = lens[:0]
		for _, r := range recs[drop:] {
			n := klen + entryOverhead
			if !r.Synthetic() && !r.Tombstone() {
				if l, ok := vs.length(r); ok {
					n += l
				} else {
					n += int64(dead[r.Segment].mean)
				}
			}
			lens = append(lens, n)
		}
		node := int32(0)
		for i := len(recs) - 1; i >= drop; i-- {
			r := recs[i]
			if r.Synthetic() {
				continue // no entry of its own (see deadBySegment)
			}
			if node == 0 || t.nodes[node].seg != r.Segment {
				if node = t.child(ids, node, r.Segment); node < 0 {
					return false // the trie is full: decide on what it holds
				}
			}
			t.nodes[node].bytes += lens[i-drop]
		}
		return true
	})
	// A key's versions in a segment count at the length of one of them,
	// read (see valueSampler): a segment's nodes may sum to more than the
	// segment (600 counter values after a document, counted as 600
	// documents). Scale them down to its dead bytes, so that none is
	// credited with more than it can free.
	for s, ids := range t.bySeg {
		sum := int64(0)
		for _, id := range ids {
			sum += t.nodes[id].bytes
		}
		if most := dead[s].dead; sum > most && sum > 0 {
			for _, id := range ids {
				t.nodes[id].bytes = int64(float64(t.nodes[id].bytes) * float64(most) / float64(sum))
			}
		}
	}
	return t
}

// child returns the node for segment seg under parent, added if new
// (ids: parent<<32 | seg to node), or -1 where the trie has as many
// nodes as an int32 numbers.
func (t *needTrie) child(ids map[uint64]int32, parent int32, seg uint32) int32 {
	k := uint64(parent)<<32 | uint64(seg)
	if id, ok := ids[k]; ok {
		return id
	}
	if len(t.nodes) >= math.MaxInt32 {
		return -1
	}
	id := int32(len(t.nodes))
	t.nodes = append(t.nodes, needNode{parent: parent, sibling: t.nodes[parent].child, seg: seg})
	t.nodes[parent].child = id
	t.bySeg[seg] = append(t.bySeg[seg], id)
	ids[k] = id
	return id
}

// splitDead returns the sealed segments worth a job alone and the needy
// ones (see compactDead).
func (db *DB) splitDead(dead map[uint32]deadShare) (pick, needy map[uint32]bool) {
	pick, needy = map[uint32]bool{}, map[uint32]bool{}
	sealed := db.segs.Load().sealed
	for id, sh := range dead {
		switch {
		case sealed[id] == nil || sh.dead <= 0:
		case float64(sh.dead-sh.dep) >= db.opts.CompactAt*float64(sh.all):
			pick[id] = true
		case float64(sh.dead) >= db.opts.CompactAt*float64(sh.all):
			needy[id] = true
		}
	}
	return pick, needy
}

// addNeeded adds to pick the segments worth a job with those picked, by
// the need trie (see compact_pick.go), and returns the trie's nodes and
// the passes pickNeeded made over it.
func (db *DB) addNeeded(pol compaction.Policy, dead map[uint32]deadShare, pick map[uint32]bool) (nodes, passes int) {
	t := db.segs.Load()
	order := db.manifestOrder()
	if w := t.active; w != nil {
		order = append(order, w.ID()) // the newest
	}
	trie := db.needTrie(pol, dead)
	passes = trie.pickNeeded(pick, order, func(id uint32) int64 {
		if t.sealed[id] == nil {
			return 0
		}
		return dead[id].all
	}, db.opts.CompactAt)
	return len(trie.nodes), passes
}

// manifestOrder returns the ids of the segments the manifest lists,
// oldest versions first.
func (db *DB) manifestOrder() []uint32 {
	db.set.mu.Lock()
	defer db.set.mu.Unlock()
	ids := make([]uint32, len(db.set.man.Segments))
	for i, info := range db.set.man.Segments {
		ids[i] = info.ID
	}
	return ids
}

// pace returns a Pace function that keeps background compaction to about
// a quarter of one core: after each slice of work it sleeps three times
// as long (not while a Compact call waits for the job).
func (db *DB) pace() func(int) {
	start := time.Now()
	return func(int) {
		if db.compact.hurry.Load() > 0 {
			return // a Compact call waits for this job
		}
		select {
		case <-db.compact.stop:
			return // Close waits for it (see mergeFinishMax)
		default:
		}
		if worked := time.Since(start); worked >= 2*time.Millisecond {
			time.Sleep(3 * worked)
			start = time.Now()
		}
	}
}
