package kv

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// Checkpoint writes into dir, which must not exist, a directory that
// Open reads as the database at the returned version: a consistent copy
// taken while writers go on. Sealed segments (immutable) are hard-linked
// where the file system allows, else copied, with their hint files; the
// active segment is copied up to the end of the returned version's
// frame; a manifest lists them. They are written into a temporary
// directory beside dir (dir.checkpoint-XXXXXXXX), which is renamed to
// dir once everything in it is fsynced; the new entry in dir's parent is
// fsynced before Checkpoint returns. So dir appears whole or not at all:
// a Checkpoint that fails removes what it wrote, so the same dir can be
// tried again, and one cut short by a crash leaves dir missing and,
// perhaps, the temporary directory: empty, partial (which Open refuses
// as damaged) or whole but not renamed; it is never in use once
// Checkpoint has returned, and can be removed. dir is used as given
// (the kernel resolves symbolic links and ".." in it), trailing
// separators aside.
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
// Everything is written into a new directory beside dir under a
// temporary name (dir.checkpoint-XXXXXXXX), synced, and renamed to dir
// last, as Pebble does: a crash at any point leaves dir missing or
// whole, never empty (which Open would take for a new database) nor
// partly written; what it can leave is the temporary directory (empty,
// or refused by Open as damaged until its last file is in place: the
// manifest is written first and lists every file, review 51, or whole). If anything fails,
// what it wrote is removed, so that a retry can use the same name. Once
// it returns nil, every file, the directory's entries and its own entry
// in its parent (and those of any parent it created) are durable.
func (db *DB) checkpointInto(dir string, man *segment.Manifest, active *segment.Writer, v uint64) (err error) {
	// dir is used as given, not cleaned, so that the kernel resolves each
	// path built from it alike ("link/../cp" with link a symbolic link is
	// not "cp": review 58); only a trailing separator or "/." goes.
	dir, parent, base := splitDir(dir)
	if _, err := vfs.MkdirAllSync(db.fs, parent); err != nil {
		return err
	}
	// The temporary name is at most maxNameBytes long wherever dir's
	// own name is (review 58: 20 more bytes than a name of 236 to 255
	// bytes, which file systems accept, failed).
	short := base
	if len(short) > maxNameBytes-len(tempSuffix)-8 {
		short = strings.ToValidUTF8(short[:maxNameBytes-len(tempSuffix)-8], "")
	}
	tmp, err := makeTempDir(db.fs, dir[:len(dir)-len(base)]+short+tempSuffix)
	if err != nil {
		return err
	}
	at := tmp // where the written files are: tmp, then dir once renamed
	var written []string
	defer func() {
		if err == nil {
			return
		}
		for _, name := range slices.Backward(written) {
			db.fs.Remove(filepath.Join(at, name))
		}
		db.fs.Remove(at)
	}()
	man.Active = active.ID()
	written = append(written, segment.ManifestName)
	if err := vfs.WriteFile(db.fs, filepath.Join(tmp, segment.ManifestName), man.Encode()); err != nil {
		return err
	}
	for _, s := range man.Segments {
		for _, name := range []string{segment.FileName(s.ID), segment.HintName(s.ID)} {
			written = append(written, name)
			_, err := vfs.LinkOrCopy(db.fs, filepath.Join(db.dir, name), filepath.Join(tmp, name))
			if err != nil && !(errors.Is(err, fs.ErrNotExist) && name == segment.HintName(s.ID)) {
				return err // (a hint file may be missing: Open rebuilds it)
			}
		}
	}
	data, err := activePrefix(db.fs, active.Path(), v)
	if err != nil {
		return err
	}
	activeName := filepath.Base(active.Path())
	written = append(written, activeName)
	if err := vfs.WriteFile(db.fs, filepath.Join(tmp, activeName), data); err != nil {
		return err
	}
	// An empty lock file, as every database directory has: a ReadOnly
	// Open, which shares the lock with writers, would otherwise create it
	// in the checkpoint (review 62: "open without writing").
	written = append(written, lockFile)
	if err := vfs.WriteFile(db.fs, filepath.Join(tmp, lockFile), nil); err != nil {
		return err
	}
	if err := db.fs.SyncDir(tmp); err != nil {
		return err
	}
	// Checked again under compact.sem, just before the rename (which
	// refuses an existing directory too, but with an error each system
	// words its own way): another Checkpoint into the same dir, or another
	// process, may have made it since Checkpoint's first look (review 55).
	if _, err := db.fs.List(dir); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			err = fmt.Errorf("%s: %w", dir, fs.ErrExist)
		}
		return err
	}
	if err := db.fs.Rename(tmp, dir); err != nil {
		return err
	}
	at = dir
	return db.fs.SyncDir(parent)
}

// tempSuffix and 8 hex digits end the name of a checkpoint's temporary
// directory; maxNameBytes is the longest name most file systems take.
const (
	tempSuffix   = ".checkpoint-"
	maxNameBytes = 255
)

// splitDir returns dir without trailing separators or "/." elements,
// its parent and its base name, as text: nothing else is cleaned.
func splitDir(dir string) (clean, parent, base string) {
	for {
		trimmed := strings.TrimRightFunc(dir, func(r rune) bool { return r < utf8.RuneSelf && os.IsPathSeparator(uint8(r)) })
		if trimmed == "" || trimmed == filepath.VolumeName(dir) {
			trimmed = dir // the root
		}
		if t, ok := strings.CutSuffix(trimmed, "."); ok && len(t) > 0 && os.IsPathSeparator(t[len(t)-1]) {
			trimmed = t
		}
		if trimmed == dir {
			break
		}
		dir = trimmed
	}
	i := len(dir) - 1
	for i >= len(filepath.VolumeName(dir)) && !os.IsPathSeparator(dir[i]) {
		i--
	}
	switch {
	case i < len(filepath.VolumeName(dir)):
		return dir, filepath.VolumeName(dir) + ".", dir[len(filepath.VolumeName(dir)):]
	case i == len(filepath.VolumeName(dir)):
		return dir, dir[:i+1], dir[i+1:] // under the root
	}
	return dir, dir[:i], dir[i+1:]
}

// makeTempDir creates a new directory named prefix and 8 random hex
// digits, and returns its path; it leaves nothing if it fails.
func makeTempDir(fsys vfs.FS, prefix string) (string, error) {
	for range 100 {
		name := fmt.Sprintf("%s%08x", prefix, rand.Uint32())
		created, err := vfs.MkdirAllSync(fsys, name)
		if err != nil {
			if created {
				fsys.Remove(name) // (its parent's sync failed: review 58)
			}
			return "", err
		}
		if created {
			return name, nil
		}
	}
	return "", fmt.Errorf("%s*: no free name for a temporary directory", prefix)
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
