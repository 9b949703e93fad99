package vfs

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// InjectedError is the error ErrorFS returns from a failed operation.
type InjectedError struct {
	Op    string // the operation that failed, e.g. "write" or "sync"
	Index int64  // its number, counting from 0
}

// Error describes the injected failure.
func (e *InjectedError) Error() string {
	return fmt.Sprintf("vfs: injected failure of operation %d (%s)", e.Index, e.Op)
}

// ErrorFS wraps an FS and fails chosen operations. Every call of an FS or
// File method counts as one operation (reading a Mapping's bytes does not).
// Operation number FailAt fails; with Sticky, every later one fails too.
// A failed operation has no effect on the underlying FS.
type ErrorFS struct {
	fs     FS
	ops    atomic.Int64
	failAt atomic.Int64
	sticky atomic.Bool
	after  atomic.Pointer[func(op string)]
}

// NewErrorFS returns an ErrorFS over fs that fails operation failAt (and
// every later one if sticky). A negative failAt fails nothing.
func NewErrorFS(fs FS, failAt int64, sticky bool) *ErrorFS {
	e := &ErrorFS{fs: fs}
	e.sticky.Store(sticky)
	e.failAt.Store(failAt)
	return e
}

// Ops returns the number of operations counted so far.
func (e *ErrorFS) Ops() int64 { return e.ops.Load() }

// FailFrom makes operation i and every later one fail (sticky from i).
func (e *ErrorFS) FailFrom(i int64) {
	e.sticky.Store(true)
	e.failAt.Store(i)
}

// SetAfter installs fn to run after every operation that succeeded, with
// its name ("create", "write", "sync", "rename", "remove", "syncdir",
// "truncate", ...). Crash tests use it to snapshot the FS after each one.
func (e *ErrorFS) SetAfter(fn func(op string)) { e.after.Store(&fn) }

func (e *ErrorFS) done(op string, err error) {
	if err == nil {
		if fn := e.after.Load(); fn != nil {
			(*fn)(op)
		}
	}
}

// Disarm stops all further injected failures.
func (e *ErrorFS) Disarm() { e.failAt.Store(-1) }

func (e *ErrorFS) step(op string) error {
	i := e.ops.Add(1) - 1
	at := e.failAt.Load()
	if at >= 0 && (i == at || (e.sticky.Load() && i > at)) {
		return &InjectedError{Op: op, Index: i}
	}
	return nil
}

func (e *ErrorFS) wrap(f File, err error) (File, error) {
	if err != nil {
		return nil, err
	}
	return &errorFile{File: f, e: e}, nil
}

// Create implements FS.
func (e *ErrorFS) Create(name string) (File, error) {
	if err := e.step("create"); err != nil {
		return nil, err
	}
	f, err := e.wrap(e.fs.Create(name))
	e.done("create", err)
	return f, err
}

// Open implements FS.
func (e *ErrorFS) Open(name string) (File, error) {
	if err := e.step("open"); err != nil {
		return nil, err
	}
	return e.wrap(e.fs.Open(name))
}

// OpenRW implements FS.
func (e *ErrorFS) OpenRW(name string) (File, error) {
	if err := e.step("openrw"); err != nil {
		return nil, err
	}
	return e.wrap(e.fs.OpenRW(name))
}

// Rename implements FS.
func (e *ErrorFS) Rename(oldname, newname string) error {
	if err := e.step("rename"); err != nil {
		return err
	}
	err := e.fs.Rename(oldname, newname)
	e.done("rename", err)
	return err
}

// Remove implements FS.
func (e *ErrorFS) Remove(name string) error {
	if err := e.step("remove"); err != nil {
		return err
	}
	err := e.fs.Remove(name)
	e.done("remove", err)
	return err
}

// List implements FS.
func (e *ErrorFS) List(dir string) ([]string, error) {
	if err := e.step("list"); err != nil {
		return nil, err
	}
	return e.fs.List(dir)
}

// MkdirAll implements FS.
func (e *ErrorFS) MkdirAll(dir string) error {
	if err := e.step("mkdir"); err != nil {
		return err
	}
	return e.fs.MkdirAll(dir)
}

// SyncDir implements FS.
func (e *ErrorFS) SyncDir(dir string) error {
	if err := e.step("syncdir"); err != nil {
		return err
	}
	err := e.fs.SyncDir(dir)
	e.done("syncdir", err)
	return err
}

// Lock implements FS.
func (e *ErrorFS) Lock(name string, shared bool, timeout time.Duration) (io.Closer, error) {
	if err := e.step("lock"); err != nil {
		return nil, err
	}
	return e.fs.Lock(name, shared, timeout)
}

type errorFile struct {
	File
	e *ErrorFS
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.e.step("read"); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *errorFile) Write(p []byte) (int, error) {
	if err := f.e.step("write"); err != nil {
		return 0, err
	}
	n, err := f.File.Write(p)
	f.e.done("write", err)
	return n, err
}

func (f *errorFile) Sync() error {
	if err := f.e.step("sync"); err != nil {
		return err
	}
	err := f.File.Sync()
	f.e.done("sync", err)
	return err
}

func (f *errorFile) Truncate(size int64) error {
	if err := f.e.step("truncate"); err != nil {
		return err
	}
	err := f.File.Truncate(size)
	f.e.done("truncate", err)
	return err
}

func (f *errorFile) Size() (int64, error) {
	if err := f.e.step("size"); err != nil {
		return 0, err
	}
	return f.File.Size()
}

func (f *errorFile) Map() (Mapping, error) {
	if err := f.e.step("map"); err != nil {
		return nil, err
	}
	return f.File.Map()
}

// Close always closes the underlying file, so an injected failure cannot
// leak a descriptor; the error is still reported.
func (f *errorFile) Close() error {
	err := f.e.step("close")
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}
