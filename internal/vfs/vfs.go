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
//     from the i-th on), or the operations a matcher picks by their typed
//     description (Op: kind, path, offset), with an injected error, so a
//     test can walk a workload through every failure point.
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
// lock on the same file (as a *LockedError, which says who).
var ErrLocked = errors.New("vfs: file is locked")

// LockedError is what FS.Lock returns when another holder has a
// conflicting lock: errors.Is(err, ErrLocked) holds for it.
type LockedError struct {
	// Holder says who holds the lock, as far as the system can tell
	// ("held by a writer, process 123", say).
	Holder string
}

// Error says that the file is locked, and by whom.
func (e *LockedError) Error() string { return ErrLocked.Error() + ": " + e.Holder }

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

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
	// Remove removes a file, or an empty directory.
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
//
// Concurrency: Sync and ReadAt may run at the same time as each other and
// as one Write, Truncate or Size (Strata's background fsync and readers
// of the active segment run beside the commit leader, which alone writes
// and truncates). Write, Truncate and Close are never called at the same
// time as each other, and nothing is called during or after Close but
// what the Mapping returned by Map still allows. Every implementation
// here (the OS's, Mem, ErrorFS) allows that.
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

// Evict drops m's pages from the process's memory, if m is a mapping of
// a file that can (on Unix): the file's data stays in the page cache and
// the next read of a page maps it again. It lowers the process's resident
// memory after a pass over a file (recovery's scan, a segment written to
// its end) without losing anything.
func Evict(m Mapping) {
	if e, ok := m.(interface{ evict() }); ok {
		e.evict()
	}
}

// RecacheHuge asks the OS to hold file name in its page cache in huge
// pages, where it can: on Linux, for a file of the OS's file system
// (fs is Default) that supports large folios (ext4 from Linux 6.16, XFS),
// it drops the file's pages from the page cache (FADV_DONTNEED: clean
// pages no process maps) and reads the file back through a mapping
// advised MADV_HUGEPAGE, 8 MiB at a time, so that the cache holds it in
// 2 MiB folios. Every mapping of the file, made before or after, then
// maps those with one page-table entry each: a read of a random place in
// a large file misses the cache but not the TLB, which on this project's
// machine took a dependent read from 300-400 ns to 220-250. The cost is
// one sequential read of the file from the disk.
//
// Where the first 8 MiB read back hold no huge page (a file system
// without large folios, transparent huge pages off, no free 2 MiB of
// memory), it stops there, and leaves the files of that device alone for
// an hour: dropping them from the cache would only cost reads.
//
// It is for durable files that no longer change (a sealed segment): a
// dirty page is not dropped, and a file written while this runs may keep
// small pages. It changes nothing any read returns. Elsewhere (other
// systems, Mem, ErrorFS) it does nothing; an error says the advice could
// not be carried out (the file is missing, or was cut short under the
// pass), and leaves the file's contents as they were.
func RecacheHuge(fs FS, name string) error {
	if _, ok := fs.(osFS); !ok {
		return nil
	}
	return recacheHuge(name)
}

// SharedMapper is implemented by files that can be written through a
// shared mapping: the OS file system's, on Linux. Bytes copied into such
// a mapping are in the kernel's page cache as soon as the copy is done, as
// with write(2), so they survive the process; Sync makes them durable.
type SharedMapper interface {
	// MapShared makes the file at least size bytes long, with its blocks
	// allocated (fallocate), so that writes through the mapping cannot
	// fail for want of space, and returns a shared read-write mapping of
	// its first size bytes. It may be called again with a larger size;
	// earlier mappings stay valid until their Close.
	MapShared(size int64) (Mapping, error)
	// WriteAt writes b at offset off of a file MapShared has mapped,
	// through the page cache as pwrite(2) does, so the bytes are in
	// every mapping of the file as soon as it returns. For a write of
	// more than a page or two it costs less than a copy into the mapping,
	// which takes a page fault, and the file system's work to make a
	// page writable, for each page it writes first.
	WriteAt(b []byte, off int64) (int, error)
}

// Mapping is a view of a file's bytes: read-only (File.Map), or writable
// (SharedMapper.MapShared).
type Mapping interface {
	// Bytes returns the mapped bytes. They must not be modified, nor used
	// after Close.
	Bytes() []byte
	// Close releases the mapping.
	Close() error
}
