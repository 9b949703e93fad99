package kv

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// segSet is the bookkeeping of the segment set: the manifest as last
// written and the next free segment id. Its mutex orders every change of
// the set (a roll, a compaction's switch) and every manifest write.
type segSet struct {
	mu     sync.Mutex
	man    segment.Manifest
	nextID uint32
	// unhinted lists the segments sealed since Open whose hint file is
	// not written yet (see writeHints), uncached those written since Open
	// (sealed, or a compaction's outputs) not yet read back in huge pages
	// (see recacheWritten).
	unhinted, uncached []uint32
}

// newID returns a segment id no file has had since Open. db.set.mu must
// be held.
func (db *DB) newID() (uint32, error) {
	id := db.set.nextID
	if id > index.MaxSegment {
		return 0, fmt.Errorf("segment id %d beyond the index's limit of %d segments", id, index.MaxSegment)
	}
	db.set.nextID++
	return id, nil
}

// writeManifest replaces the manifest with m (its generation set here).
// db.set.mu must be held.
func (db *DB) writeManifest(m segment.Manifest) error {
	m.Generation = db.set.man.Generation + 1
	if err := segment.WriteManifest(db.fs, db.dir, &m); err != nil {
		return err
	}
	db.set.man = m
	return nil
}

// replaceSegments returns a copy of cur without the segments whose ids
// are in drop, with out (nil: none) where the first of them stood.
func replaceSegments(cur []segment.SegmentInfo, drop map[uint32]bool, out []segment.SegmentInfo) []segment.SegmentInfo {
	res := make([]segment.SegmentInfo, 0, len(cur)+len(out))
	placed := false
	for _, s := range cur {
		if !drop[s.ID] {
			res = append(res, s)
			continue
		}
		if !placed {
			res = append(res, out...)
			placed = true
		}
	}
	return res
}

// recacheWritten has every segment written since the last look (see
// segSet.uncached) that is still in use read back into the page cache in
// huge pages: the page cache holds a segment this process wrote in the
// small pages its writes made, and vfs.RecacheHuge replaces them with 2
// MiB ones, which every mapping of the file then maps with one entry
// each (on Linux, where the file system allows). A read of a value then
// waits for one cache miss, not a miss and a page walk: bench/ W2 +18%,
// W4 +15%, W3 0-12% (2026-12-02). The cost is one sequential read of each
// segment from the disk, here in the background goroutine; Close and an
// explicit Compact leave it to the next look (a segment still listed at
// Close is read as the cache has it). Options.NoHugePageRecache turns it
// off: the list is emptied, nothing read.
func (db *DB) recacheWritten() {
	segs := db.takeSealed(&db.set.uncached)
	if db.opts.NoHugePageRecache {
		return
	}
	for _, s := range segs {
		s.Evict() // first: pages a mapping holds stay in the cache as they are
		if err := vfs.RecacheHuge(db.fs, s.Path()); err != nil {
			db.log.Debug("strata: could not read a segment back in huge pages", "segment", s.Path(), "err", err)
		}
	}
}

// writeHints writes the hint file of every segment sealed since it last
// ran (a hint lets the next Open index the segment without reading its
// values). A failure is logged, not fatal: Open rebuilds a missing hint.
func (db *DB) writeHints() {
	for _, s := range db.takeSealed(&db.set.unhinted) {
		db.writeHint(s, 0)
	}
}

// takeSealed empties list, one of segSet's lists of segment ids, and
// returns the segments it named that are still in use (the others were
// compacted away).
func (db *DB) takeSealed(list *[]uint32) []*segment.Sealed {
	db.set.mu.Lock()
	ids := *list
	*list = nil
	db.set.mu.Unlock()
	t := db.segs.Load()
	var segs []*segment.Sealed
	for _, id := range ids {
		if s := t.sealed[id]; s != nil {
			segs = append(segs, s)
		}
	}
	return segs
}

// writeHint builds and writes the hint file of sealed segment s, which
// covers versions up to last (0: as s says; see segment.BuildHint).
func (db *DB) writeHint(s *segment.Sealed, last uint64) {
	if err := segment.BuildHintFile(db.fs, db.dir, s, last); err != nil {
		db.log.Warn("strata: could not write a hint file; the next Open rebuilds it", "segment", s.Path(), "err", err)
	}
}

// removeHint removes the hint file of segment id, if any.
func (db *DB) removeHint(id uint32) {
	path := filepath.Join(db.dir, segment.HintName(id))
	if err := db.fs.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		db.log.Warn("strata: could not remove a hint file; the next Open will", "file", path, "err", err)
	}
}
