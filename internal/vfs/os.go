package vfs

import (
	"fmt"
	"os"
	"sort"

	mmap "github.com/edsrzf/mmap-go"
)

// Default is the operating system's file system. It creates files 0600
// and directories 0700: a data directory is private to its owner.
var Default FS = osFS{}

type osFS struct{}

func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	return &osFile{File: f}, nil
}

func (osFS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return &osFile{File: f}, nil
}

func (osFS) OpenRW(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	return &osFile{File: f}, nil
}

func (osFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }
func (osFS) Remove(name string) error             { return os.Remove(name) }
func (osFS) MkdirAll(dir string) error            { return os.MkdirAll(dir, 0o700) }

func (osFS) List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

func (osFS) SyncDir(dir string) error { return syncDir(dir) }

// Link implements Linker.
func (osFS) Link(oldname, newname string) error { return os.Link(oldname, newname) }

type osFile struct {
	*os.File
	// at writes at offsets (WriteAt): File may be opened O_APPEND, where
	// Linux's pwrite(2) ignores the offset. Opened by the first
	// MapShared, on Linux.
	at *os.File
}

// Close closes the file (and its second descriptor, if any).
func (f *osFile) Close() error {
	if f.at != nil {
		f.at.Close()
		f.at = nil
	}
	return f.File.Close()
}

func (f *osFile) Size() (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (f *osFile) Map() (Mapping, error) {
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	if size == 0 {
		return memMapping(nil), nil // mmap of an empty file fails
	}
	m, err := mmap.Map(f.File, mmap.RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), err)
	}
	return osMapping{m}, nil
}

type osMapping struct{ m mmap.MMap }

func (m osMapping) Bytes() []byte { return m.m }
func (m osMapping) Close() error  { return m.m.Unmap() }

// memMapping is a Mapping over bytes already in memory.
type memMapping []byte

func (m memMapping) Bytes() []byte { return m }
func (m memMapping) Close() error  { return nil }
