package vfs

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// OpKind is the kind of a file-system operation ErrorFS counts.
type OpKind uint8

// The operations: one per method of FS and File (reading a Mapping's
// bytes is none).
const (
	OpCreate OpKind = iota + 1
	OpOpen
	OpOpenRW
	OpRename
	OpRemove
	OpList
	OpMkdirAll
	OpSyncDir
	OpLock
	OpRead
	OpWrite
	OpSync
	OpTruncate
	OpSize
	OpMap
	OpClose
)

var opNames = [...]string{OpCreate: "create", OpOpen: "open", OpOpenRW: "openrw", OpRename: "rename", OpRemove: "remove",
	OpList: "list", OpMkdirAll: "mkdirall", OpSyncDir: "syncdir", OpLock: "lock", OpRead: "read", OpWrite: "write",
	OpSync: "sync", OpTruncate: "truncate", OpSize: "size", OpMap: "map", OpClose: "close"}

// String names the kind ("write", "sync").
func (k OpKind) String() string {
	if int(k) < len(opNames) && opNames[k] != "" {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Op is one operation ErrorFS counted: what it was, on which file and
// where in it.
type Op struct {
	Kind OpKind
	// Path is the file or directory operated on (for a rename, the old
	// name).
	Path string
	// Offset is where a read or write starts in the file (a write
	// appends: at the file's size), or the new size of a truncate; 0
	// otherwise.
	Offset int64
	// Index is the operation's number, counting from 0.
	Index int64
}

// String describes the operation ("write /d/0000000001.seg at 56 (#12)").
func (o Op) String() string {
	s := o.Kind.String() + " " + o.Path
	if o.Kind == OpRead || o.Kind == OpWrite || o.Kind == OpTruncate {
		s += fmt.Sprintf(" at %d", o.Offset)
	}
	return s + fmt.Sprintf(" (#%d)", o.Index)
}

// InjectedError is the error ErrorFS returns from a failed operation.
type InjectedError struct {
	Op Op // the operation that failed
}

// Error describes the injected failure.
func (e *InjectedError) Error() string {
	return fmt.Sprintf("vfs: injected failure of %v", e.Op)
}

// ErrorFS wraps an FS and fails chosen operations. Every call of an FS or
// File method counts as one operation (reading a Mapping's bytes does not).
// Operation number FailAt fails; with Sticky, every later one fails too;
// and so does every operation a matcher set by FailWhen picks (by kind,
// path, offset). A failed operation has no effect on the underlying FS.
type ErrorFS struct {
	fs     FS
	ops    atomic.Int64
	failAt atomic.Int64
	sticky atomic.Bool
	match  atomic.Pointer[func(Op) bool]
	after  atomic.Pointer[func(Op)]
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

// FailWhen makes every operation for which match returns true fail
// (nil: none), besides those chosen by number. It may be called at any
// time, from any goroutine; match must be safe for concurrent use.
func (e *ErrorFS) FailWhen(match func(Op) bool) {
	if match == nil {
		e.match.Store(nil)
		return
	}
	e.match.Store(&match)
}

// SetAfter installs fn to run after every operation that changed the
// file system and succeeded (create, write, sync, rename, remove,
// syncdir, truncate). Crash tests use it to snapshot the FS after each
// one. nil removes it.
func (e *ErrorFS) SetAfter(fn func(Op)) {
	if fn == nil {
		e.after.Store(nil)
		return
	}
	e.after.Store(&fn)
}

func (e *ErrorFS) done(op Op, err error) {
	if err == nil {
		if fn := e.after.Load(); fn != nil {
			(*fn)(op)
		}
	}
}

// Disarm stops all further injected failures.
func (e *ErrorFS) Disarm() {
	e.failAt.Store(-1)
	e.match.Store(nil)
}

// step counts an operation of kind on path at off and returns it, with
// an *InjectedError if it is to fail.
func (e *ErrorFS) step(kind OpKind, path string, off int64) (Op, error) {
	op := Op{Kind: kind, Path: path, Offset: off, Index: e.ops.Add(1) - 1}
	at := e.failAt.Load()
	if at >= 0 && (op.Index == at || (e.sticky.Load() && op.Index > at)) {
		return op, &InjectedError{Op: op}
	}
	if m := e.match.Load(); m != nil && (*m)(op) {
		return op, &InjectedError{Op: op}
	}
	return op, nil
}

// wrap returns f, opened at path, as a File whose calls count as
// operations.
func (e *ErrorFS) wrap(path string, f File, err error) (File, error) {
	if err != nil {
		return nil, err
	}
	return &errorFile{File: f, e: e, path: path}, nil
}

// Create implements FS.
func (e *ErrorFS) Create(name string) (File, error) {
	op, err := e.step(OpCreate, name, 0)
	if err != nil {
		return nil, err
	}
	f, err := e.fs.Create(name)
	f, err = e.wrap(name, f, err)
	e.done(op, err)
	return f, err
}

// Open implements FS.
func (e *ErrorFS) Open(name string) (File, error) {
	if _, err := e.step(OpOpen, name, 0); err != nil {
		return nil, err
	}
	f, err := e.fs.Open(name)
	return e.wrap(name, f, err)
}

// OpenRW implements FS.
func (e *ErrorFS) OpenRW(name string) (File, error) {
	if _, err := e.step(OpOpenRW, name, 0); err != nil {
		return nil, err
	}
	f, err := e.fs.OpenRW(name)
	return e.wrap(name, f, err)
}

// Rename implements FS.
func (e *ErrorFS) Rename(oldname, newname string) error {
	op, err := e.step(OpRename, oldname, 0)
	if err != nil {
		return err
	}
	err = e.fs.Rename(oldname, newname)
	e.done(op, err)
	return err
}

// Remove implements FS.
func (e *ErrorFS) Remove(name string) error {
	op, err := e.step(OpRemove, name, 0)
	if err != nil {
		return err
	}
	err = e.fs.Remove(name)
	e.done(op, err)
	return err
}

// List implements FS.
func (e *ErrorFS) List(dir string) ([]string, error) {
	if _, err := e.step(OpList, dir, 0); err != nil {
		return nil, err
	}
	return e.fs.List(dir)
}

// MkdirAll implements FS.
func (e *ErrorFS) MkdirAll(dir string) error {
	if _, err := e.step(OpMkdirAll, dir, 0); err != nil {
		return err
	}
	return e.fs.MkdirAll(dir)
}

// SyncDir implements FS.
func (e *ErrorFS) SyncDir(dir string) error {
	op, err := e.step(OpSyncDir, dir, 0)
	if err != nil {
		return err
	}
	err = e.fs.SyncDir(dir)
	e.done(op, err)
	return err
}

// Lock implements FS.
func (e *ErrorFS) Lock(name string, shared bool, timeout time.Duration) (io.Closer, error) {
	if _, err := e.step(OpLock, name, 0); err != nil {
		return nil, err
	}
	return e.fs.Lock(name, shared, timeout)
}

// errorFile is a File of an ErrorFS.
type errorFile struct {
	File
	e    *ErrorFS
	path string
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	if _, err := f.e.step(OpRead, f.path, off); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

// Write appends (see FS.OpenRW): the operation's offset is the file's
// size as the write starts, whoever wrote or cut it last.
func (f *errorFile) Write(p []byte) (int, error) {
	off, _ := f.File.Size()
	op, err := f.e.step(OpWrite, f.path, off)
	if err != nil {
		return 0, err
	}
	n, err := f.File.Write(p)
	f.e.done(op, err)
	return n, err
}

func (f *errorFile) Sync() error {
	op, err := f.e.step(OpSync, f.path, 0)
	if err != nil {
		return err
	}
	err = f.File.Sync()
	f.e.done(op, err)
	return err
}

func (f *errorFile) Truncate(size int64) error {
	op, err := f.e.step(OpTruncate, f.path, size)
	if err != nil {
		return err
	}
	err = f.File.Truncate(size)
	f.e.done(op, err)
	return err
}

func (f *errorFile) Size() (int64, error) {
	if _, err := f.e.step(OpSize, f.path, 0); err != nil {
		return 0, err
	}
	return f.File.Size()
}

func (f *errorFile) Map() (Mapping, error) {
	if _, err := f.e.step(OpMap, f.path, 0); err != nil {
		return nil, err
	}
	return f.File.Map()
}

// Close always closes the underlying file, so an injected failure cannot
// leak a descriptor; the error is still reported.
func (f *errorFile) Close() error {
	_, err := f.e.step(OpClose, f.path, 0)
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}
