package kv

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// Checkpoint writes into dir, which must not exist, a directory that
// Open reads as the database at the returned version: a consistent copy
// taken while writers go on. Sealed segments (immutable) are hard-linked
// where the file system allows, else copied, with their hint files; the
// active segment is copied up to the end of the returned version's
// frame; a manifest lists them. Everything is fsynced before it returns.
// Compaction waits while a checkpoint links the files it could remove.
// The checkpoint takes the disk space of the copied active segment (at
// most SegmentSize) where links are possible.
func (db *DB) Checkpoint(dir string) (Version, error) {
	if err := db.enter(); err != nil {
		return 0, err
	}
	defer db.leave()
	if db.opts.ReadOnly || db.opts.Durability == InMemory {
		return 0, fmt.Errorf("%w: checkpoint of a database opened read-only or in memory", ErrReadOnly)
	}
	if dir == "" {
		return 0, fmt.Errorf("strata: checkpoint: no directory given")
	}
	if _, err := db.fs.List(dir); err == nil {
		return 0, fmt.Errorf("strata: checkpoint: %s: %w", dir, fs.ErrExist)
	}
	// No compaction switch (which removes its input files) may run
	// while the files are linked. A background job in progress goes on
	// unpaced meanwhile (hurry), so that the wait is its work alone.
	db.compact.hurry.Add(1)
	db.compact.sem <- struct{}{}
	db.compact.hurry.Add(-1)
	defer func() { <-db.compact.sem }()

	// The version, the sealed segments that hold it and the active one,
	// captured together: a roll changes them only under set.mu.
	db.set.mu.Lock()
	v := db.visible.Load()
	man := db.set.man
	man.Segments = append([]segment.SegmentInfo(nil), man.Segments...)
	active := db.segs.Load().active
	db.set.mu.Unlock()
	if active == nil {
		return 0, fmt.Errorf("strata: checkpoint: %w", db.failed())
	}

	if err := db.fs.MkdirAll(dir); err != nil {
		return 0, fmt.Errorf("strata: checkpoint: %w", err)
	}
	for _, s := range man.Segments {
		name := segment.FileName(s.ID)
		if _, err := vfs.LinkOrCopy(db.fs, filepath.Join(db.dir, name), filepath.Join(dir, name)); err != nil {
			return 0, fmt.Errorf("strata: checkpoint: %w", err)
		}
		hint := segment.HintName(s.ID)
		if _, err := vfs.LinkOrCopy(db.fs, filepath.Join(db.dir, hint), filepath.Join(dir, hint)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("strata: checkpoint: %w", err)
		}
	}
	data, err := activePrefix(db.fs, active.Path(), v)
	if err != nil {
		return 0, fmt.Errorf("strata: checkpoint: %w", err)
	}
	if err := vfs.WriteFile(db.fs, filepath.Join(dir, filepath.Base(active.Path())), data); err != nil {
		return 0, fmt.Errorf("strata: checkpoint: %w", err)
	}
	man.Active = active.ID()
	if err := segment.WriteManifest(db.fs, dir, &man); err != nil { // fsyncs the directory
		return 0, fmt.Errorf("strata: checkpoint: %w", err)
	}
	return Version(v), nil
}

// activePrefix reads the active segment at path up to the end of the
// frame of version v (the header alone if its frames all come after v).
// Every frame up to v was written before v was published; what follows
// (later commits, frames being written, reserved zeros) is left out.
func activePrefix(fsys vfs.FS, path string, v uint64) ([]byte, error) {
	data, err := vfs.ReadGrowing(fsys, path)
	if err != nil {
		return nil, err
	}
	sc, err := segment.NewScanner(data)
	if err != nil {
		return nil, err
	}
	if sc.Header().BaseVersion > v {
		return data[:segment.HeaderSize], nil // its first commit came after v
	}
	for {
		f, err := sc.Next()
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: the frames up to version %d do not read back: %w", path, v, err)
		case f.Marker():
			continue // (a marker after frame v names v+1; the copy ends before it)
		case f.Version == v:
			return data[:sc.Offset()], nil
		case f.Version > v:
			return nil, fmt.Errorf("%s: no frame of version %d", path, v)
		}
	}
}
