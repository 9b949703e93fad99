package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Mem is an in-memory FS. It tracks, per file, the data made durable by
// the last File.Sync and, per directory, the entries made durable by the
// last SyncDir, so that CrashClone can produce what a machine would find
// after a power loss. Directories created or removed are durable at
// once; a directory renamed, once its new parent is synced.
//
// Map returns the file's bytes without copying them.
type Mem struct {
	mu      sync.Mutex
	files   map[string]*memNode // current directory entries
	durable map[string]*memNode // entries as of the last SyncDir of their directory
	dirs    map[string]bool
	renames []memRename // directory renames not yet durable
	locks   map[string]*memLock
}

type memNode struct {
	mu     sync.Mutex
	data   []byte
	synced []byte // data as of the last Sync; never written through
}

type memLock struct {
	exclusive bool
	shared    int
}

// NewMem returns an empty in-memory file system.
func NewMem() *Mem {
	return &Mem{
		files:   map[string]*memNode{},
		durable: map[string]*memNode{},
		dirs:    map[string]bool{"/": true, ".": true},
		locks:   map[string]*memLock{},
	}
}

func clean(name string) string { return filepath.Clean(name) }

func notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

func (m *Mem) dirExists(dir string) bool { return m.dirs[clean(dir)] }

// Create implements FS.
func (m *Mem) Create(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirExists(filepath.Dir(name)) {
		return nil, notExist("create", name)
	}
	n := m.files[name]
	if n == nil {
		n = &memNode{}
		m.files[name] = n
	} else {
		n.mu.Lock()
		n.data = nil // a fresh array: what was synced stays intact
		n.mu.Unlock()
	}
	return &memFile{node: n, name: name}, nil
}

// Open implements FS.
func (m *Mem) Open(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.files[name]
	if n == nil {
		return nil, notExist("open", name)
	}
	return &memFile{node: n, name: name, readOnly: true}, nil
}

// OpenRW implements FS.
func (m *Mem) OpenRW(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.files[name]
	if n == nil {
		return nil, notExist("open", name)
	}
	return &memFile{node: n, name: name}, nil
}

// Rename implements FS. Like os.Rename, it refuses to rename onto a
// directory (an error that is fs.ErrExist).
func (m *Mem) Rename(oldname, newname string) error {
	oldname, newname = clean(oldname), clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.files[oldname]
	if n == nil && !m.dirs[oldname] {
		return notExist("rename", oldname)
	}
	switch {
	case !m.dirExists(filepath.Dir(newname)):
		return notExist("rename", newname)
	case m.dirs[newname]:
		return &fs.PathError{Op: "rename", Path: newname, Err: fs.ErrExist}
	case n == nil:
		return m.renameDir(oldname, newname)
	}
	delete(m.files, oldname)
	m.files[newname] = n
	return nil
}

// memRename is a directory rename whose new parent has not been synced
// since: a power loss undoes it (see crash).
type memRename struct{ from, to string }

// renameDir renames the directory oldname, with everything under it
// (what is durable there, and locks, too), to newname, which does not
// exist. The rename itself is durable once newname's parent is synced:
// until then a crash image has the directory under its old name. With
// m.mu held.
func (m *Mem) renameDir(oldname, newname string) error {
	switch {
	case m.files[newname] != nil:
		return &fs.PathError{Op: "rename", Path: newname, Err: errors.New("not a directory")}
	case strings.HasPrefix(newname, oldname+"/"):
		return &fs.PathError{Op: "rename", Path: newname, Err: errors.New("a directory into itself")}
	}
	m.forget(newname) // what a directory removed under that name left durable
	m.moveTree(oldname, newname)
	m.renames = append(m.renames, memRename{from: oldname, to: newname})
	return nil
}

// settleRenames makes durable, as a journal does, every pending
// directory rename up to the last one from or to name or a path under
// it: a mkdir or rmdir of name, durable at once, is ordered after them
// (review 65: a rename chain, or a subdirectory renamed out of a removed
// directory, put back in the wrong place). With m.mu held.
func (m *Mem) settleRenames(name string) {
	under := func(p string) bool { return p == name || strings.HasPrefix(p, name+"/") }
	for i := len(m.renames) - 1; i >= 0; i-- {
		if under(m.renames[i].from) || under(m.renames[i].to) {
			m.renames = slices.Delete(m.renames, 0, i+1)
			return
		}
	}
}

// moveTree moves every entry at or under from (files, durable entries,
// directories, locks) to the same place under to.
func (m *Mem) moveTree(from, to string) {
	move := func(name string) (string, bool) {
		if name == from {
			return to, true
		}
		if rest, ok := strings.CutPrefix(name, from+"/"); ok {
			return to + "/" + rest, true
		}
		return "", false
	}
	for _, entries := range []map[string]*memNode{m.files, m.durable} {
		moved := map[string]*memNode{}
		for name, n := range entries {
			if dst, ok := move(name); ok {
				moved[dst] = n
				delete(entries, name)
			}
		}
		maps.Copy(entries, moved)
	}
	locks := map[string]*memLock{}
	for name, l := range m.locks {
		if dst, ok := move(name); ok {
			locks[dst] = l
			delete(m.locks, name)
		}
	}
	maps.Copy(m.locks, locks)
	var dirs []string
	for d := range m.dirs {
		if dst, ok := move(d); ok {
			dirs = append(dirs, dst)
			delete(m.dirs, d)
		}
	}
	for _, d := range dirs {
		m.dirs[d] = true
	}
}

// forget drops the durable entries under dir, a directory that is gone
// (removed, or about to be a new one's name): a crash cannot bring them
// back, as the directory that held them is gone.
func (m *Mem) forget(dir string) {
	for name := range m.durable {
		if strings.HasPrefix(name, dir+"/") {
			delete(m.durable, name)
		}
	}
}

// Link implements Linker: newname shares oldname's bytes (and later
// writes to either).
func (m *Mem) Link(oldname, newname string) error {
	oldname, newname = clean(oldname), clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.files[oldname]
	switch {
	case n == nil:
		return notExist("link", oldname)
	case !m.dirExists(filepath.Dir(newname)):
		return notExist("link", newname)
	case m.files[newname] != nil:
		return &fs.PathError{Op: "link", Path: newname, Err: fs.ErrExist}
	}
	m.files[newname] = n
	return nil
}

// Remove implements FS.
func (m *Mem) Remove(name string) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files[name] == nil {
		if !m.dirs[name] {
			return notExist("remove", name)
		}
		for f := range m.files {
			if strings.HasPrefix(f, name+"/") {
				return &fs.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
			}
		}
		for d := range m.dirs {
			if strings.HasPrefix(d, name+"/") {
				return &fs.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
			}
		}
		delete(m.dirs, name)
		m.settleRenames(name)
		// The removal is durable at once, and with it whatever renamed a
		// file out of the directory before (review 63: else a crash image
		// had the file under neither name).
		for old, n := range m.durable {
			if !strings.HasPrefix(old, name+"/") {
				continue
			}
			for now, cur := range m.files {
				if cur == n && !strings.HasPrefix(now, name+"/") {
					m.durable[now] = n
				}
			}
		}
		m.forget(name)
		return nil
	}
	delete(m.files, name)
	return nil
}

// List implements FS.
func (m *Mem) List(dir string) ([]string, error) {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirExists(dir) {
		return nil, notExist("list", dir)
	}
	var names []string
	for name := range m.files {
		if filepath.Dir(name) == dir {
			names = append(names, filepath.Base(name))
		}
	}
	for d := range m.dirs {
		if d != dir && filepath.Dir(d) == dir {
			names = append(names, filepath.Base(d))
		}
	}
	sort.Strings(names)
	return names, nil
}

// MkdirAll implements FS.
func (m *Mem) MkdirAll(dir string) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := dir; !m.dirs[d]; d = filepath.Dir(d) {
		if m.files[d] != nil {
			return &fs.PathError{Op: "mkdir", Path: d, Err: errors.New("not a directory")}
		}
		m.dirs[d] = true
		// Durable at once, so is any rename that moved a directory away
		// from d before (a mkdir of the name is ordered after it: a crash
		// image must not put the old directory back into the new one,
		// review 63).
		m.settleRenames(d)
	}
	return nil
}

// SyncDir implements FS.
func (m *Mem) SyncDir(dir string) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirExists(dir) {
		return notExist("syncdir", dir)
	}
	m.renames = slices.DeleteFunc(m.renames, func(r memRename) bool { return filepath.Dir(r.to) == dir })
	for name := range m.durable {
		if filepath.Dir(name) == dir {
			delete(m.durable, name)
		}
	}
	for name, n := range m.files {
		if filepath.Dir(name) == dir {
			m.durable[name] = n
		}
	}
	return nil
}

// Lock implements FS. A conflicting lock is retried until timeout.
func (m *Mem) Lock(name string, shared bool, timeout time.Duration) (io.Closer, error) {
	deadline := time.Now().Add(timeout)
	for {
		c, err := m.tryLock(name, shared)
		if !errors.Is(err, ErrLocked) || !time.Now().Before(deadline) {
			return c, err
		}
		time.Sleep(lockRetry)
	}
}

func (m *Mem) tryLock(name string, shared bool) (io.Closer, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirExists(filepath.Dir(name)) {
		return nil, notExist("lock", name)
	}
	if m.files[name] == nil {
		m.files[name] = &memNode{}
	}
	l := m.locks[name]
	if l == nil {
		l = &memLock{}
		m.locks[name] = l
	}
	switch {
	case l.exclusive:
		return nil, &LockedError{Holder: "held by a writer (this process)"}
	case !shared && l.shared > 0:
		return nil, &LockedError{Holder: "held by read-only opens (this process)"}
	}
	if shared {
		l.shared++
	} else {
		l.exclusive = true
	}
	return &memUnlocker{m: m, l: l, shared: shared}, nil
}

type memUnlocker struct {
	m      *Mem
	l      *memLock
	shared bool
	once   sync.Once
}

func (u *memUnlocker) Close() error {
	u.once.Do(func() {
		u.m.mu.Lock()
		defer u.m.mu.Unlock()
		if u.shared {
			u.l.shared--
		} else {
			u.l.exclusive = false
		}
	})
	return nil
}

// CrashClone returns a new Mem holding what survives a power loss of m
// right now: the directory entries made durable by SyncDir, each file with
// the data made durable by its last Sync, plus the first keepUnsynced
// fraction (0 to 1) of the bytes appended since. With keepUnsynced == 1
// the directory entries not yet synced survive too, so the clone equals m
// (a process crash rather than a power loss). Locks are not carried over.
func (m *Mem) CrashClone(keepUnsynced float64) *Mem {
	return m.crash(keepUnsynced >= 1, func(_ string, _ int64, unsynced []byte) []byte {
		if keepUnsynced <= 0 {
			return nil
		}
		return unsynced[:int(float64(len(unsynced))*keepUnsynced)]
	})
}

// CrashImage returns a new Mem holding what a power loss could leave when
// the disk wrote back pages of unsynced data in any order: the directory
// entries made durable by SyncDir and each file's synced bytes, followed
// by tail(name, synced, unsynced), where synced is the number of synced
// bytes and unsynced the bytes written after them. tail may return any
// bytes (see Pages): a prefix, the data with holes of zeros or garbage, or
// nothing. Locks are not carried over.
func (m *Mem) CrashImage(tail func(name string, synced int64, unsynced []byte) []byte) *Mem {
	return m.crash(false, tail)
}

func (m *Mem) crash(allEntries bool, tail func(name string, synced int64, unsynced []byte) []byte) *Mem {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := NewMem()
	for d := range m.dirs {
		c.dirs[d] = true
	}
	entries := m.durable
	if allEntries {
		entries = m.files
	}
	for name, n := range entries {
		n.mu.Lock()
		data := append([]byte(nil), n.synced...)
		if len(n.data) > len(n.synced) && bytes.HasPrefix(n.data, n.synced) {
			data = append(data, tail(name, int64(len(n.synced)), n.data[len(n.synced):])...)
		}
		n.mu.Unlock()
		c.files[name] = &memNode{data: data, synced: data}
		c.durable[name] = c.files[name]
	}
	if !allEntries {
		for _, r := range slices.Backward(m.renames) {
			if !c.dirs[r.from] { // (never onto a directory there: see MkdirAll)
				c.moveTree(r.to, r.from)
			}
		}
	}
	for name := range c.files { // (none should be: Remove forgets them)
		if !c.dirs[filepath.Dir(name)] {
			delete(c.files, name)
			delete(c.durable, name)
		}
	}
	return c
}

// PageSize is the size of a memory page, the usual unit in which a disk
// writes back data; see Pages.
const PageSize = 4096

// Pages returns a tail function for CrashImage that keeps the unsynced
// bytes of the pages (size bytes at multiples of size in the file) for
// which keep(name, page) is true and replaces the others with fill
// (zeros, or garbage). The file ends with the last page kept; if none is,
// it ends where its synced bytes do. Tests use pages smaller than
// PageSize to put holes inside small files: a disk's unit of atomicity is
// a sector (512 bytes or less), and writes of several may land in any
// order.
func Pages(size int64, keep func(name string, page int64) bool, fill func(b []byte)) func(string, int64, []byte) []byte {
	return func(name string, synced int64, unsynced []byte) []byte {
		out := append([]byte(nil), unsynced...)
		end := 0
		for off := 0; off < len(out); {
			page := (synced + int64(off)) / size
			next := min(int((page+1)*size-synced), len(out))
			if keep(name, page) {
				end = next
			} else {
				fill(out[off:next])
			}
			off = next
		}
		return out[:end]
	}
}

type memFile struct {
	node     *memNode
	name     string
	readOnly bool
	mu       sync.Mutex
	closed   bool
}

var errClosed = errors.New("vfs: file already closed")

func (f *memFile) check(write bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "use", Path: f.name, Err: errClosed}
	}
	if write && f.readOnly {
		return &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrPermission}
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check(false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("vfs: negative offset %d", off)
	}
	f.node.mu.Lock()
	defer f.node.mu.Unlock()
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	if err := f.check(true); err != nil {
		return 0, err
	}
	f.node.mu.Lock()
	defer f.node.mu.Unlock()
	f.node.data = append(f.node.data, p...)
	return len(p), nil
}

func (f *memFile) Sync() error {
	if err := f.check(false); err != nil {
		return err
	}
	f.node.mu.Lock()
	defer f.node.mu.Unlock()
	f.node.synced = f.node.data[:len(f.node.data):len(f.node.data)]
	return nil
}

func (f *memFile) Truncate(size int64) error {
	if err := f.check(true); err != nil {
		return err
	}
	f.node.mu.Lock()
	defer f.node.mu.Unlock()
	if size < 0 {
		return fmt.Errorf("vfs: negative size %d", size)
	}
	if size <= int64(len(f.node.data)) {
		// Clip the capacity so later appends cannot overwrite bytes that
		// the synced snapshot or a mapping still shows.
		f.node.data = f.node.data[:size:size]
		return nil
	}
	f.node.data = append(f.node.data, make([]byte, size-int64(len(f.node.data)))...)
	return nil
}

func (f *memFile) Size() (int64, error) {
	if err := f.check(false); err != nil {
		return 0, err
	}
	f.node.mu.Lock()
	defer f.node.mu.Unlock()
	return int64(len(f.node.data)), nil
}

func (f *memFile) Map() (Mapping, error) {
	if err := f.check(false); err != nil {
		return nil, err
	}
	f.node.mu.Lock()
	defer f.node.mu.Unlock()
	d := f.node.data
	return memMapping(d[:len(d):len(d)]), nil
}

func (f *memFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: errClosed}
	}
	f.closed = true
	return nil
}
