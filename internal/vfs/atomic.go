package vfs

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
)

// WriteFileAtomic creates name with the given contents so that after a
// crash either the old state (no file, or the previous file) or the whole
// new file is there: it writes a temporary file, syncs it, renames it over
// name and syncs the directory.
func WriteFileAtomic(fs FS, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := fs.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		fs.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		fs.Remove(tmp)
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		fs.Remove(tmp)
		return err
	}
	if err := fs.Rename(tmp, name); err != nil {
		fs.Remove(tmp)
		return err
	}
	return fs.SyncDir(filepath.Dir(name))
}

// MkdirAllSync creates dir and its missing parents, as FS.MkdirAll, and
// makes each created directory's entry durable: it syncs the parent of
// every directory it created, deepest first, so that a power loss after
// it returns cannot take the directory (and what is synced in it) away.
// It reports whether dir itself was created.
func MkdirAllSync(fs FS, dir string) (created bool, err error) {
	dir = filepath.Clean(dir)
	var made []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := fs.List(d); err == nil {
			break
		}
		made = append(made, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := fs.MkdirAll(dir); err != nil {
		return false, err
	}
	for _, d := range made {
		if parent := filepath.Dir(d); parent != d {
			if err := fs.SyncDir(parent); err != nil {
				return len(made) > 0, err
			}
		}
	}
	return len(made) > 0, nil
}

// ReadFile returns the contents of name.
func ReadFile(fs FS, name string) ([]byte, error) { return readFile(fs, name, false) }

// ReadGrowing returns the contents of name as they are while it reads: a
// file another goroutine appends to or cuts (the active segment) may end
// before the size it had when the read began, and then what there was
// is returned.
func ReadGrowing(fs FS, name string) ([]byte, error) { return readFile(fs, name, true) }

func readFile(fs FS, name string, short bool) ([]byte, error) {
	f, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	n, err := f.ReadAt(b, 0)
	if err != nil && !(errors.Is(err, io.EOF) && (short || int64(n) == size)) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b[:n], nil
}

// Linker is implemented by file systems that can give a file a second
// name (a hard link). Link may still fail where they cannot (another
// device, a file system without links): LinkOrCopy then copies.
type Linker interface {
	Link(oldname, newname string) error
}

// LinkOrCopy makes newname (which must not exist) hold what oldname
// holds: a hard link where fs can make one, else a copy, synced. It
// reports whether it linked. Use it only for files no one writes any
// more (a hard link shares later writes).
func LinkOrCopy(fs FS, oldname, newname string) (linked bool, err error) {
	if l, ok := fs.(Linker); ok {
		if err := l.Link(oldname, newname); err == nil {
			return true, nil
		}
	}
	data, err := ReadFile(fs, oldname)
	if err != nil {
		return false, err
	}
	return false, WriteFile(fs, newname, data)
}

// WriteFile creates name holding data, synced (but not its directory
// entry: the caller syncs the directory).
func WriteFile(fs FS, name string, data []byte) error {
	f, err := fs.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
