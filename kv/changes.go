package kv

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/segment"
)

// Changes returns, oldest first (a commit's keys in key order), the
// versions committed to keys of run that start with prefix, with version
// above after: at most limit (<= 0:
// 100), except that a commit is never split, so a page may exceed limit
// when one commit alone writes more keys of the run than that. Pass the
// last one's Version as after to get the next page; an empty result
// means nothing follows yet: no version up to LastVersion() as read
// before the call touched run's keys under prefix, so a feed moves after
// there and waits for the next commit with WaitFor (see WaitFor).
//
// It finds where to start from the segments (each knows the versions it
// holds, and every 64th frame of a segment it has read is marked) and
// reads their frames forward: it costs O(frames read + segments), never
// O(keys); frames of other runs between the changes are read too. The
// first call on a segment reads it whole to mark it. If retention
// dropped versions above after, it returns ErrHistoryTrimmed.
func (db *DB) Changes(run RunID, prefix string, after Version, limit int) ([]Change, error) {
	if err := checkPrefix(run, prefix); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultScanLimit
	}
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	out := []Change{}
	snap := db.visible.Load()
	if uint64(after) >= snap {
		return out, nil
	}
	// A run event's changes come from the index, not from its frame (a
	// DropRun's deletions and a ForkRun's links have no entries of their
	// own), and a compaction may drop them from it during the walk, where
	// the frames read stay whole. So, if the walk expanded an event, the
	// horizon of what compaction dropped is checked again after it (it is
	// stored before the index changes): past after, the answer may lack
	// a change, and ErrHistoryTrimmed is what a call a moment later says.
	events := false
	err := db.frames(uint64(after), snap, true, func(f *segment.Frame) (bool, error) {
		start := len(out)
		err := f.Entries(func(e segment.Entry) error {
			if string(e.Run) == segment.EventRun {
				events = true
				// The table is loaded before the index is read, so that
				// it holds every segment a record read names (see
				// readValuesInto).
				t := db.segs.Load()
				return db.eventChanges(e.Key, f.Version, run, prefix, func(key string, r index.Record) error {
					c := Change{Key: key, Versioned: Versioned{Version: Version(f.Version), Timestamp: time.UnixMicro(f.Timestamp).UTC(), Value: Null(), Deleted: true}}
					if !r.Tombstone() {
						x, err := db.versioned(t, r)
						if err != nil {
							return keyErr("changes", run, key, err)
						}
						c.Value, c.Deleted = x.Value, false
					}
					out = append(out, c)
					return nil
				})
			}
			if string(e.Run) != string(run) || !strings.HasPrefix(string(e.Key), prefix) {
				return nil
			}
			c := Change{Key: string(e.Key), Versioned: Versioned{Version: Version(f.Version), Timestamp: time.UnixMicro(f.Timestamp).UTC()}}
			if e.Op == segment.OpDelete {
				c.Value, c.Deleted = Null(), true
			} else {
				raw, err := segment.DecodeValue(e.Codec, e.Value)
				if err == nil {
					err = c.Value.UnmarshalBinary(raw)
				}
				if err != nil {
					return keyErr("changes", run, c.Key, err)
				}
			}
			out = append(out, c)
			return nil
		})
		if err != nil {
			return false, err
		}
		slices.SortFunc(out[start:], func(a, b Change) int { return strings.Compare(a.Key, b.Key) })
		if len(out) > limit && start > 0 {
			out = out[:start] // the commit goes to the next page whole
			return false, nil
		}
		return len(out) < limit, nil
	})
	if err != nil {
		return nil, err
	}
	if events {
		if err := db.droppedAfter(uint64(after)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// droppedAfter returns ErrHistoryTrimmed if compaction may have dropped
// an entry of a version above after.
func (db *DB) droppedAfter(after uint64) error {
	if h := db.dropped.Load(); after < h {
		return fmt.Errorf("%w: changes after version %d need history compaction dropped (what it dropped is at or below version %d)", ErrHistoryTrimmed, after, h)
	}
	return nil
}

// Diff returns the keys of run whose value at version to differs from
// their value at version from, in key order, each with its version at to
// (Deleted, with the deletion's version, when the key is absent at to;
// Version 0 when it never existed there). It reads the frames committed
// between the two (see Changes): O(versions committed in between, to
// any run). A version above LastVersion reads the latest. If the older
// of the two is below the trim horizon, it returns ErrHistoryTrimmed.
func (db *DB) Diff(run RunID, from, to Version) ([]Change, error) {
	if err := checkRun(run); err != nil {
		return nil, err
	}
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	snap := db.visible.Load()
	lo, hi := min(uint64(from), snap), min(uint64(to), snap)
	if lo > hi {
		lo, hi = hi, lo
	}
	// The older of the two decides, but at 0 (the empty database, which
	// needs no history) the newer does.
	trimmed := func() error { return db.trimmedAt(cmp.Or(lo, hi)) }
	if err := trimmed(); err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	if err := db.frames(lo, hi, false, func(f *segment.Frame) (bool, error) {
		return true, f.Entries(func(e segment.Entry) error {
			if string(e.Run) == segment.EventRun {
				return db.eventChanges(e.Key, f.Version, run, "", func(key string, _ index.Record) error {
					keys[key] = true
					return nil
				})
			}
			if string(e.Run) == string(run) && !keys[string(e.Key)] {
				keys[string(e.Key)] = true
			}
			return nil
		})
	}); err != nil {
		return nil, err
	}
	// The reads at from and to go to the index, where a compaction may
	// drop what they need while they run: the trim horizon, stored before
	// the index changes, is checked again after them.
	out := []Change{}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		a, aok, err := db.getAt(run, k, min(uint64(from), snap))
		if err != nil {
			return nil, err
		}
		b, bok, err := db.getAt(run, k, min(uint64(to), snap))
		if err != nil {
			return nil, err
		}
		if aok == bok && (!aok || a.Value.Equal(b.Value)) {
			continue
		}
		c := Change{Key: k, Versioned: b}
		if !bok {
			c.Versioned = Versioned{Value: Null(), Deleted: true}
			if r, ok := db.ix.Get(string(run), k, min(uint64(to), snap)); ok {
				c.Version, c.Timestamp = Version(r.Version), time.UnixMicro(r.Timestamp).UTC()
			}
		}
		out = append(out, c)
	}
	if err := trimmed(); err != nil {
		return nil, err
	}
	return out, nil
}

// eventChanges calls fn with each key of run under prefix that the run
// event whose key is key, of version v, changed (a DropRun of run, or a
// ForkRun into it), and what the key holds at v, from the index: O(keys
// of the run under prefix).
func (db *DB) eventChanges(key []byte, v uint64, run RunID, prefix string, fn func(string, index.Record) error) error {
	ev, err := segment.ParseEvent(key)
	if err != nil {
		return fmt.Errorf("%w: version %d: %v", ErrCorrupt, v, err)
	}
	if ev.Run != string(run) {
		return nil
	}
	for it := db.ix.Seek(string(run), prefix); it.Valid() && it.Chain().HasPrefix(prefix); it.Next() {
		if r, ok := it.Chain().Written(v); ok {
			if err := fn(it.Chain().Key(), r); err != nil {
				return err
			}
		}
	}
	return nil
}

// frames calls fn with every commit frame of version in (after, upto],
// oldest first, until fn returns false or an error (which frames
// returns). It starts in the segment that holds version after+1, at the
// last mark before it. With complete, it fails with ErrHistoryTrimmed if
// compaction may have dropped an entry of a version above after.
func (db *DB) frames(after, upto uint64, complete bool, fn func(f *segment.Frame) (bool, error)) error {
	type seg struct {
		id   uint32
		base uint64
		data func() ([]byte, error)
	}
	var segs []seg
	// The segments that hold the versions, in order: those the manifest
	// lists (a compaction's table briefly holds both its inputs and its
	// outputs), then the active one. A read-only DB has every segment in
	// its table and no compaction.
	db.set.mu.Lock()
	t := db.segs.Load()
	listed := db.set.man.Segments
	db.set.mu.Unlock()
	if db.opts.ReadOnly {
		for id, s := range t.sealed {
			segs = append(segs, seg{id, s.Header().BaseVersion, func() ([]byte, error) { return s.Bytes(), nil }})
		}
		slices.SortFunc(segs, func(a, b seg) int { return cmp.Compare(a.base, b.base) })
	} else {
		for _, info := range listed {
			if s := t.sealed[info.ID]; s != nil {
				segs = append(segs, seg{info.ID, info.Base, func() ([]byte, error) { return s.Bytes(), nil }})
			}
		}
	}
	if w := t.active; w != nil {
		segs = append(segs, seg{w.ID(), w.BaseVersion(), w.Frames})
	}
	// Checked after the table is loaded: a compaction records what it
	// dropped before its outputs are in the table, and a table from
	// before it still holds its inputs whole.
	if complete {
		if err := db.droppedAfter(after); err != nil {
			return err
		}
	}
	i := 0
	for i+1 < len(segs) && segs[i+1].base <= after+1 {
		i++
	}
	for ; i < len(segs); i++ {
		if segs[i].base > upto {
			return nil
		}
		data, err := segs[i].data()
		if err != nil {
			return err
		}
		path := fmt.Sprintf("segment %s", segment.FileName(segs[i].id))
		more := true
		err = segment.GuardFault(path, 0, func() error {
			fi := db.frameIndex(segs[i].id)
			sc, err := fi.scanner(data, after+1)
			if err != nil {
				return err
			}
			for {
				f, err := sc.Next()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return &CorruptError{File: path, Offset: sc.Offset(), Err: err}
				}
				switch {
				case f.Marker() || f.Version <= after:
				case f.Version > upto:
					more = false
					return nil
				default:
					ok, err := fn(&f)
					if err != nil || !ok {
						more = false
						return err
					}
				}
			}
		})
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// markEvery is how many frames lie between two marks of a segment's
// frame index.
const markEvery = 64

// frameIndex marks every markEvery-th frame of a segment, so that a walk
// of its frames can start near a version: built by the first walk that
// reads the segment, and extended as the active segment grows.
type frameIndex struct {
	mu    sync.Mutex
	marks []segment.Mark // the first at the first frame
	runs  [][]byte       // the runs the segment names, in order (copies)
	end   segment.Mark   // where marking stopped
	n     int            // frames marked up to end
}

// frameIndex returns the frame index of segment id.
func (db *DB) frameIndex(id uint32) *frameIndex {
	if fi, ok := db.marks.Load(id); ok {
		return fi.(*frameIndex)
	}
	fi, _ := db.marks.LoadOrStore(id, &frameIndex{})
	return fi.(*frameIndex)
}

// scanner returns a scanner of data (the segment's bytes) at the last
// mark whose next version is at most v, marking the frames data holds
// beyond those marked so far.
func (fi *frameIndex) scanner(data []byte, v uint64) (*segment.Scanner, error) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	var sc *segment.Scanner
	var err error
	switch {
	case fi.end.Off == 0:
		sc, err = segment.NewScanner(data)
	case fi.end.Off < int64(len(data)):
		sc, err = segment.ResumeScanner(data, fi.end, fi.runs)
	}
	if err != nil {
		return nil, err
	}
	for sc != nil {
		m := sc.Mark()
		if fi.n%markEvery == 0 && (len(fi.marks) == 0 || fi.marks[len(fi.marks)-1].Off < m.Off) {
			fi.marks = append(fi.marks, m)
		}
		f, err := sc.Next()
		if err != nil {
			break // the end of what is written (or damage, which the walk reports)
		}
		if !f.Marker() {
			fi.n++
		}
		fi.end = sc.Mark()
	}
	if sc != nil {
		for _, r := range sc.RunNames()[len(fi.runs):] {
			fi.runs = append(fi.runs, []byte(string(r)))
		}
	}
	// The last mark whose next version is at most v (or the first), and
	// within data: another walk may have marked more of the active
	// segment than this walk's copy of it holds.
	i, _ := slices.BinarySearchFunc(fi.marks, v, func(m segment.Mark, v uint64) int { return cmp.Compare(m.Next, v+1) })
	i = max(i-1, 0)
	for i > 0 && fi.marks[i].Off > int64(len(data)) {
		i--
	}
	return segment.ResumeScanner(data, fi.marks[i], fi.runs)
}
