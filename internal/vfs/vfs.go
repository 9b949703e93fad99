// Package vfs is the file-system interface every file operation of Strata
// goes through.
//
// Three implementations exist:
//
//   - Default (OS): the real file system, with read-only mappings through
//     mmap and directory locks through flock(2).
//   - Mem: an in-memory file system. Besides serving InMemory databases it
//     can simulate a crash: CrashClone returns the state a machine would
//     find after power loss, keeping only what was synced (file data by
//     File.Sync, directory entries by SyncDir), plus optionally part of
//     what was not.
//   - ErrorFS: a wrapper that fails the i-th operation (or every operation
//     from the i-th on) with an injected error, so a test can walk a
//     workload through every failure point.
//
// The package must never know about segments, frames or keys: it moves
// bytes and names, nothing else.
package vfs

import (
	"errors"
	"io"
	"time"
)

// ErrLocked is returned by FS.Lock when another holder has a conflicting
// lock on the same file.
var ErrLocked = errors.New("vfs: file is locked")

// FS is the set of file-system operations Strata needs. Names are paths as
// understood by the implementation (the OS FS takes ordinary paths).
type FS interface {
	// Create creates name for writing, truncating it if it exists.
	Create(name string) (File, error)
	// Open opens name read-only.
	Open(name string) (File, error)
	// OpenRW opens an existing file for reading and writing; writes
	// append at the end of the file.
	OpenRW(name string) (File, error)
	// Rename renames oldname to newname, replacing newname if it exists.
	Rename(oldname, newname string) error
	// Remove removes a file.
	Remove(name string) error
	// List returns the names (not paths) of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// MkdirAll creates dir and its parents if they do not exist.
	MkdirAll(dir string) error
	// SyncDir makes the directory entries of dir durable: the creations,
	// renames and removals done in it so far survive a power loss.
	SyncDir(dir string) error
	// Lock takes a lock on name (creating it if needed): exclusive when
	// shared is false, else shared with other shared holders. If the lock
	// is held in a conflicting way it tries again until timeout has passed
	// (0: not at all), then returns an error wrapping ErrLocked that says
	// who holds it, as far as the system can tell. Closing the returned
	// Closer releases the lock.
	Lock(name string, shared bool, timeout time.Duration) (io.Closer, error)
}

// File is an open file.
type File interface {
	io.ReaderAt
	io.Writer
	io.Closer
	// Sync makes the file's data durable.
	Sync() error
	// Truncate changes the size of the file.
	Truncate(size int64) error
	// Size returns the current size of the file.
	Size() (int64, error)
	// Map returns a read-only mapping of the file's current contents.
	// The mapping stays valid until its Close, even after the File is
	// closed. It must not be used on a file that is still being written:
	// Strata maps sealed (immutable) segments only.
	Map() (Mapping, error)
}

// Mapping is a read-only view of a file's bytes.
type Mapping interface {
	// Bytes returns the mapped bytes. They must not be modified, nor used
	// after Close.
	Bytes() []byte
	// Close releases the mapping.
	Close() error
}
