// Package compaction rewrites sealed segments without the versions a
// retention policy lets Strata drop. It is Strata's implementation, with
// no compatibility promise: applications use package kv.
//
// # What is dropped
//
// For each key, the policy (Policy.Horizon) finds the oldest versions it
// may drop: a version is dropped when no rule the policy sets keeps it
// (KeepVersions keeps the newest n; KeepFor keeps the versions committed
// within the window and the one current at its start; a policy that sets
// neither keeps everything), when no snapshot a reader holds may read it
// (its successor is above the oldest pinned snapshot), and when every
// older version of the key is dropped too, so that what is dropped is
// always a key's oldest versions and a read at any version either finds
// the version that answered it or finds none. The newest version is
// kept, but for a tombstone once everything older is dropped (and, with
// KeepFor, once it is older than the window): a deleted key with no
// history left then vanishes. A job drops only versions in its input
// segments, and a version only if every older version of its key is in
// the inputs or already gone.
//
// Runs dropped and forked (see segment.EventRun) add rules. An event is
// never dropped: the versions it stands for may lie in any segment. A
// DropRun's deletion has no entry of its own, and recovery adds it again
// only above an older version of its key, so the version below it is
// kept as long as it is (dropped together with it, or not at all). A
// fork's link is kept, and all that is newer in its key, since recovery
// adds it again from the fork's event whatever compaction dropped; and a
// key a link points at keeps what reads at the fork's version need, as
// if a reader held a snapshot there (Policy.Pins).
//
// A read at version v that finds no version of a key is ambiguous once
// something is dropped: the key may have been absent at v, or its answer
// dropped. The trim horizon settles it: the highest version from which
// on every read answers as before (the successor of every version
// dropped, but for the newest dropped of a key a tombstone's own version).
// Reads below it that find nothing of a key that has versions kept may
// need what was dropped (ErrHistoryTrimmed). For a key with none kept,
// Result.Vanished, the newest deletion among the keys a job dropped
// whole, is the bound instead: below it the key may be one of those, at
// or above it the key was absent. (Package kv narrows both for what it
// dropped since its Open, which its index marks key by key.)
//
// # Protocol
//
// A job reads its inputs (sealed segments whose versions follow one
// another) frame by frame, in version order, and writes the entries it
// keeps as compacted segments (see package segment) covering the same
// range of versions: each commit whole or in part, under its own version
// and timestamp, so a batch stays atomic. The outputs are fsynced and
// sealed before Run returns; nothing points at them yet, and a crash
// leaves them as files the manifest does not list, which recovery
// removes. The caller then switches the set: it writes a manifest
// listing the outputs in place of the inputs (the commit point), points
// the index at the outputs and drops what the job dropped (Result.Apply),
// and only then removes the inputs (a crash before that leaves files the
// manifest does not list, which recovery removes).
package compaction

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"
	"unsafe"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// Policy is a retention policy at one moment.
type Policy struct {
	KeepVersions int           // keep the newest n versions of each key (0: the rule is not set)
	KeepFor      time.Duration // keep what reads within this window need (0: not set)
	Now          int64         // Unix microseconds: the window ends here
	// Pin is the oldest snapshot version a reader holds
	// (math.MaxUint64: none); versions reads at it may need are kept.
	Pin uint64
	// Pins holds, for a run forked from, the oldest version a fork reads
	// it at: for the keys a fork's link points at, what reads there need
	// is kept (see For).
	Pins map[string]uint64
}

// For returns the policy for a key of run (linked: a fork's link points
// at it, see index.Chain.Linked): its Pin lowered to the run's fork pin
// for a linked key. Run events (segment.EventRun) are never dropped: Pin
// 0 keeps every version but a key's last deletion, and events are never
// deletions.
func (p Policy) For(run string, linked bool) Policy {
	if run == segment.EventRun {
		p.Pin = 0
	} else if pin, ok := p.Pins[run]; ok && linked {
		p.Pin = min(p.Pin, pin)
	}
	return p
}

// KeepsAll reports whether the policy keeps every version.
func (p Policy) KeepsAll() bool { return p.KeepVersions <= 0 && p.KeepFor <= 0 }

// Horizon returns the newest of the versions recs (a key's records,
// newest first, as Chain.Raw lists them) the policy lets compaction drop with every older one, as
// an index into recs (-1: none), for the versions whose segment inputs
// holds (nil: any segment). clear is the version from which reads answer
// as before once they are dropped.
func (p Policy) Horizon(recs []index.Record, inputs map[uint32]bool) (drop int, clear uint64) {
	drop = -1
	if p.KeepsAll() {
		return -1, 0
	}
	cutoff := int64(math.MinInt64)
	if p.KeepFor > 0 {
		cutoff = p.Now - p.KeepFor.Microseconds()
	}
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if r.Link() {
			// A fork's link is kept, and so what is newer: recovery adds
			// it again from the fork's event whatever was dropped, so
			// dropping it, or anything above it, could bring back what a
			// later version replaced.
			break
		}
		if inputs != nil && !inputs[r.Segment] && !r.Synthetic() {
			break
		}
		if i == 0 {
			// The newest: a tombstone with nothing older left, unless
			// the window holds it.
			if !r.Tombstone() || (p.KeepFor > 0 && r.Timestamp >= cutoff) {
				break
			}
		} else {
			s := recs[i-1] // its successor
			keptByCount := p.KeepVersions > 0 && i < p.KeepVersions
			keptByTime := p.KeepFor > 0 && (r.Timestamp >= cutoff || s.Timestamp >= cutoff)
			if keptByCount || keptByTime || s.Version > p.Pin {
				break
			}
		}
		drop = i
	}
	// A DropRun's deletion has no entry: recovery adds it again only
	// above an older version of its key. So the version below one is
	// kept as long as the deletion is.
	if drop > 0 && recs[drop-1].Synthetic() && recs[drop-1].Tombstone() {
		if drop++; drop == len(recs) {
			drop = -1
		}
	}
	switch {
	case drop < 0:
		return -1, 0
	case drop == 0 || recs[drop].Tombstone():
		// Reads from a dropped deletion on find nothing, which is what
		// it answered.
		return drop, recs[drop].Version
	default:
		return drop, recs[drop-1].Version
	}
}

// Input is a sealed segment to rewrite, with what the manifest says of it.
type Input struct {
	Seg  *segment.Sealed
	Info segment.SegmentInfo
}

// Job is one compaction.
type Job struct {
	FS    vfs.FS
	Dir   string
	Index *index.Index
	// Inputs are sealed segments covering consecutive versions, in
	// version order.
	Inputs []Input
	Policy Policy
	// NewID returns a segment id for an output.
	NewID func() (uint32, error)
	// MaxSize is the size beyond which an output is ended and another
	// begun (at a commit's boundary).
	MaxSize int64
	// Pace, if set, is called after each commit written with the bytes
	// read since the last call; it may sleep to leave the disk and the
	// CPU to others (background compaction).
	Pace func(n int)
}

// Output is a segment a job wrote.
type Output struct {
	Seg  *segment.Sealed
	Info segment.SegmentInfo
}

// Result is what a job did, for the caller to switch in (see Protocol).
type Result struct {
	Outputs []Output
	// Trimmed is the trim horizon the job's drops need (0: none).
	Trimmed uint64
	// Vanished is the version of the newest deletion among the keys the
	// job dropped whole, every version of them (0: none); at most
	// Trimmed. A read at or above it that finds no trace of a key knows
	// the key was absent (see segment.Manifest).
	Vanished        uint64
	VersionsDropped int64
	// NewestDropped is the newest version of which the job dropped an
	// entry (0: none): a change feed after it has lost nothing.
	NewestDropped uint64
	BytesIn       int64 // the inputs' sizes
	BytesOut      int64 // the outputs' sizes
	drops         []drop
}

type drop struct {
	c index.Chain
	v uint64
}

// Close releases the outputs' mappings and removes their files: for a
// result that is not switched in.
func (r *Result) Close(fs vfs.FS) {
	for _, o := range r.Outputs {
		o.Seg.Close()
		fs.Remove(o.Seg.Path())
	}
	r.Outputs = nil
}

// Run writes the job's outputs. On an error (ctx's included) it removes
// what it wrote and returns the error; the inputs are untouched either
// way.
func Run(ctx context.Context, job Job) (*Result, error) {
	if len(job.Inputs) == 0 {
		return &Result{}, nil
	}
	r := &runner{job: job, res: &Result{}, inputs: map[uint32]bool{}, ctx: ctx}
	for i, in := range job.Inputs {
		if i > 0 && in.Info.Base != job.Inputs[i-1].Info.Last+1 {
			return nil, fmt.Errorf("compaction: inputs %d and %d do not cover consecutive versions", job.Inputs[i-1].Info.ID, in.Info.ID)
		}
		r.inputs[in.Info.ID] = true
		r.res.BytesIn += in.Info.Size
	}
	r.last = job.Inputs[len(job.Inputs)-1].Info.Last
	if err := r.run(); err != nil {
		if r.w != nil {
			r.w.Close(false)
			job.FS.Remove(r.w.Path())
		}
		r.res.Close(job.FS)
		return nil, err
	}
	return r.res, nil
}

type runner struct {
	job    Job
	ctx    context.Context
	res    *Result
	inputs map[uint32]bool
	last   uint64 // the last version the inputs cover

	w     *segment.Writer // the output being written
	wbase uint64
	recs  []index.Record
	specs []segment.EntrySpec
	// decided holds the drop decided for each key met, by its chain's
	// ID (the version dropped with all older ones, 0: none), so that
	// every entry of a key follows the same decision while writers add
	// versions.
	decided map[uint32]uint64
}

func (r *runner) run() error {
	r.decided = map[uint32]uint64{}
	next := r.job.Inputs[0].Info.Base
	ts := r.job.Inputs[0].Seg.Header().BaseTime
	frames := 0
	for _, in := range r.job.Inputs {
		sc := in.Seg.Scanner()
		read := int64(segment.HeaderSize)
		err := segment.GuardFault(in.Seg.Path(), 0, func() error {
			for {
				f, err := sc.Next()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return &segment.CorruptError{File: in.Seg.Path(), Offset: sc.Offset(), Err: err}
				}
				if frames++; frames%256 == 0 {
					if err := r.ctx.Err(); err != nil {
						return err
					}
				}
				if f.Marker() {
					continue
				}
				if r.w == nil {
					if err := r.begin(next, ts); err != nil {
						return err
					}
				}
				if err := r.frame(&f); err != nil {
					return err
				}
				next, ts = f.Version+1, f.Timestamp
				if r.job.Pace != nil {
					r.job.Pace(int(sc.Offset() - read))
					read = sc.Offset()
				}
				if r.w.Size() >= r.job.MaxSize && f.Version < r.last {
					if err := r.end(f.Version); err != nil {
						return err
					}
				}
			}
		})
		if err != nil {
			return err
		}
	}
	if r.w == nil {
		if err := r.begin(next, ts); err != nil {
			return err
		}
	}
	return r.end(r.last)
}

// begin starts an output covering versions from base.
func (r *runner) begin(base uint64, ts int64) error {
	id, err := r.job.NewID()
	if err != nil {
		return err
	}
	r.w, err = segment.CreateCompacted(r.job.FS, r.job.Dir, id, base, r.last, ts)
	r.wbase = base
	return err
}

// end seals the output being written; it covers versions up to last.
// (Its header says r.last: the range ends where the next output begins,
// which the manifest records.)
func (r *runner) end(last uint64) error {
	w := r.w
	s, err := w.Seal(r.job.FS)
	if s == nil {
		return err
	}
	r.w = nil
	size := int64(len(s.Bytes()))
	r.res.Outputs = append(r.res.Outputs, Output{Seg: s, Info: segment.SegmentInfo{ID: s.ID(), Base: r.wbase, Last: last, Size: size}})
	r.res.BytesOut += size
	return err
}

// frame writes what the job keeps of commit f.
func (r *runner) frame(f *segment.Frame) error {
	r.specs = r.specs[:0]
	err := f.Entries(func(e segment.Entry) error {
		run := unsafe.String(unsafe.SliceData(e.Run), len(e.Run))
		key := unsafe.String(unsafe.SliceData(e.Key), len(e.Key))
		if r.drops(run, key, f.Version) {
			r.res.VersionsDropped++
			r.res.NewestDropped = max(r.res.NewestDropped, f.Version)
			return nil
		}
		r.specs = append(r.specs, segment.EntrySpec{Op: e.Op, Codec: e.Codec, Run: run, Key: key, Value: e.Value})
		return nil
	})
	if err != nil || len(r.specs) == 0 {
		return err
	}
	_, _, err = r.w.AppendCommit(f.Version, f.Timestamp, r.specs, nil)
	clear(r.specs)
	if err == nil && r.w.Size()-r.w.Flushed() >= flushAt {
		err = r.w.Flush()
	}
	return err
}

// flushAt is how many bytes of frames an output buffers before it writes
// them: half of what a segment.Writer keeps of its buffer after a write,
// so that the buffer, grown past flushAt by the last commit, is kept and
// reused rather than allocated again for every write.
const flushAt = 512 << 10

// drops decides whether version v of (run, key) is dropped: the first
// entry of a key met decides for all of them.
func (r *runner) drops(run, key string, v uint64) bool {
	c, ok := r.job.Index.Find(run, key)
	if !ok {
		return false
	}
	d, ok := r.decided[c.ID()]
	if !ok {
		r.recs = r.recs[:0]
		c.Raw(func(x index.Record) bool {
			r.recs = append(r.recs, x)
			return true
		})
		i, clear := r.job.Policy.For(run, c.Linked()).Horizon(r.recs, r.inputs)
		if i >= 0 {
			d = r.recs[i].Version
			r.res.drops = append(r.res.drops, drop{c: c, v: d})
			r.res.Trimmed = max(r.res.Trimmed, clear)
			if i == 0 {
				// The key goes whole; reads from its deletion on found
				// it absent, and find it so still.
				r.res.Vanished = max(r.res.Vanished, clear)
			}
			// A change feed after d has lost nothing (the entries are
			// counted as frame meets them; a run's deletion by DropRun
			// has no entry of its own).
			r.res.NewestDropped = max(r.res.NewestDropped, d)
			for _, x := range r.recs[i:] {
				if x.Synthetic() {
					r.res.VersionsDropped++
				}
			}
		}
		r.decided[c.ID()] = d
	}
	return v <= d
}

// Apply points the index at the outputs and drops from it what the job
// dropped. The caller calls it once the manifest lists the outputs, and
// removes the inputs only after it, keeping them mapped until no reader
// can hold a place in them.
func (r *Result) Apply(ix *index.Index) error {
	for _, o := range r.Outputs {
		sc := o.Seg.Scanner()
		err := segment.GuardFault(o.Seg.Path(), 0, func() error {
			for {
				f, err := sc.Next()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return &segment.CorruptError{File: o.Seg.Path(), Offset: sc.Offset(), Err: err}
				}
				err = f.Entries(func(e segment.Entry) error {
					run := unsafe.String(unsafe.SliceData(e.Run), len(e.Run))
					key := unsafe.String(unsafe.SliceData(e.Key), len(e.Key))
					if c, ok := ix.Find(run, key); !ok || !c.Relocate(f.Version, o.Seg.ID(), f.Offset+int64(e.FieldOffset())) {
						return fmt.Errorf("compaction: version %d of key %q of run %q is not in the index", f.Version, e.Key, e.Run)
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
		})
		if err != nil {
			return err
		}
	}
	for _, d := range r.drops {
		d.c.Drop(d.v)
	}
	r.drops = nil
	return nil
}
