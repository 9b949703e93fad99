package faults_test

import (
	"errors"
	"strings"
	"sync"

	"github.com/strata-kv/strata/internal/vfs"
)

// faultFS is the OS file system with hooks, whose files keep their shared
// mappings (so the path that writes segments through a mapping runs,
// unlike under vfs.ErrorFS) and can fail Create, Sync, Truncate and Close
// on demand.
type faultFS struct {
	vfs.FS
	mu       sync.Mutex
	onSync   func(path string) error
	onTrunc  func(path string, size int64) error
	onClose  func(path string) error
	onCreate func(path string) error
	syncs    int
	segSyncs int
}

var errInjected = errors.New("injected fault")

func newFaultFS() *faultFS { return &faultFS{FS: vfs.Default} }

func (fs *faultFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return f, err
	}
	return &faultFile{File: f, fs: fs, name: name}, nil
}

func (fs *faultFS) Create(name string) (vfs.File, error) {
	fs.mu.Lock()
	h := fs.onCreate
	fs.mu.Unlock()
	if h != nil {
		if err := h(name); err != nil {
			return nil, err
		}
	}
	f, err := fs.FS.Create(name)
	return fs.wrap(name, f, err)
}

func (fs *faultFS) OpenRW(name string) (vfs.File, error) {
	f, err := fs.FS.OpenRW(name)
	return fs.wrap(name, f, err)
}

func (fs *faultFS) SyncDir(dir string) error {
	fs.mu.Lock()
	fs.syncs++
	fs.mu.Unlock()
	return fs.FS.SyncDir(dir)
}

func (fs *faultFS) Syncs() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.syncs
}

type faultFile struct {
	vfs.File
	fs   *faultFS
	name string
}

func isSeg(name string) bool { return strings.HasSuffix(name, ".seg") }

func (f *faultFile) MapShared(size int64) (vfs.Mapping, error) {
	sm, ok := f.File.(vfs.SharedMapper)
	if !ok {
		return nil, errors.New("no shared mappings here")
	}
	return sm.MapShared(size)
}

func (f *faultFile) WriteAt(b []byte, off int64) (int, error) {
	sm, ok := f.File.(vfs.SharedMapper)
	if !ok {
		return 0, errors.New("no shared mappings here")
	}
	return sm.WriteAt(b, off)
}

func (f *faultFile) Sync() error {
	f.fs.mu.Lock()
	if isSeg(f.name) {
		f.fs.segSyncs++
	}
	f.fs.syncs++
	h := f.fs.onSync
	f.fs.mu.Unlock()
	if h != nil {
		if err := h(f.name); err != nil {
			return err
		}
	}
	return f.File.Sync()
}

func (f *faultFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	h := f.fs.onTrunc
	f.fs.mu.Unlock()
	if h != nil {
		if err := h(f.name, size); err != nil {
			return err
		}
	}
	return f.File.Truncate(size)
}

func (f *faultFile) Close() error {
	err := f.File.Close()
	f.fs.mu.Lock()
	h := f.fs.onClose
	f.fs.mu.Unlock()
	if h != nil && err == nil {
		err = h(f.name)
	}
	return err
}

func (fs *faultFS) SegSyncs() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.segSyncs
}
