package kv

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// Checkpoint writes into dir, which must not exist, a directory that
// Open reads as the database at the returned version: a consistent copy
// taken while writers go on. Sealed segments (immutable) are hard-linked
// where the file system allows, else copied, with their hint files; the
// active segment is copied up to the end of the returned version's
// frame; a manifest lists them. Everything is fsynced before it returns,
// the new directory's entry in its parent included. A Checkpoint that
// fails removes what it wrote (dir too), so the same dir can be tried
// again; one cut short by a crash leaves a dir that Open refuses as
// damaged rather than reads as an older database.
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

	if err := db.checkpointInto(dir, &man, active, v); err != nil {
		return 0, fmt.Errorf("strata: checkpoint: %w", err)
	}
	return Version(v), nil
}

// checkpointInto writes the checkpoint of the version v, held by the
// segments man lists and active, into dir, which does not exist.
//
// The manifest is written first, in place, listing every file the
// checkpoint will hold: until the last of them is in place, Open refuses
// the directory as damaged (the manifest torn, or a listed segment
// missing), where a directory of segments
// without a manifest would read as a log, the database at an older
// version, with no error (review 51). Each file is written under a
// temporary name and renamed into place, so a crash leaves no file
// partly written under its own name. If anything fails, what it wrote is
// removed, the directory too, so that a retry can use the same name.
// Once it returns nil, every file, the directory's entries and its own
// entry in its parent (and those of any parent it created) are durable.
func (db *DB) checkpointInto(dir string, man *segment.Manifest, active *segment.Writer, v uint64) (err error) {
	created, err := vfs.MkdirAllSync(db.fs, dir)
	var written []string
	defer func() {
		if err == nil {
			return
		}
		for _, name := range slices.Backward(written) {
			db.fs.Remove(name)
		}
		if created {
			db.fs.Remove(dir)
		}
	}()
	if err != nil {
		return err
	}
	if !created {
		// Checked again under compact.sem: another Checkpoint into the
		// same dir may have made it since Checkpoint's first look (review
		// 55: this one's cleanup then removed that one's finished files).
		return fmt.Errorf("%s: %w", dir, fs.ErrExist)
	}
	activeName := filepath.Base(active.Path())
	man.Active = active.ID()
	// Written in place, not through a temporary name: from its creation
	// on, a MANIFEST (empty or torn) makes Open refuse the directory,
	// where a MANIFEST.tmp alone left it a directory Open takes for a new
	// database (review 55, a process killed during the write).
	mpath := filepath.Join(dir, segment.ManifestName)
	written = append(written, mpath)
	if err := vfs.WriteFile(db.fs, mpath, man.Encode()); err != nil {
		return err
	}
	if err := db.fs.SyncDir(dir); err != nil {
		return err
	}
	put := func(name string, write func(tmp string) error) error {
		tmp, final := filepath.Join(dir, name+".tmp"), filepath.Join(dir, name)
		written = append(written, tmp)
		if err := write(tmp); err != nil {
			return err
		}
		written = append(written, final)
		return db.fs.Rename(tmp, final)
	}
	for _, s := range man.Segments {
		for _, name := range []string{segment.FileName(s.ID), segment.HintName(s.ID)} {
			err := put(name, func(tmp string) error {
				_, err := vfs.LinkOrCopy(db.fs, filepath.Join(db.dir, name), tmp)
				return err
			})
			if err != nil && !(errors.Is(err, fs.ErrNotExist) && name == segment.HintName(s.ID)) {
				return err // (a hint file may be missing: Open rebuilds it)
			}
		}
	}
	data, err := activePrefix(db.fs, active.Path(), v)
	if err != nil {
		return err
	}
	if err := put(activeName, func(tmp string) error { return vfs.WriteFile(db.fs, tmp, data) }); err != nil {
		return err
	}
	return db.fs.SyncDir(dir)
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
