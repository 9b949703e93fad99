package vfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// MapShared implements SharedMapper.
func (f *osFile) MapShared(size int64) (Mapping, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, fmt.Errorf("map %s: bad size %d", f.Name(), size)
	}
	if f.at == nil {
		if err := f.openAt(); err != nil {
			return nil, err
		}
	}
	fd := int(f.Fd())
	for {
		err := unix.Fallocate(fd, 0, 0, size)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("fallocate %s: %w", f.Name(), err)
		}
		break
	}
	b, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), err)
	}
	return sharedMapping(b), nil
}

// openAt opens the file a second time, without O_APPEND, for WriteAt,
// and checks that the name still leads to the same file.
func (f *osFile) openAt() error {
	at, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s for positional writes: %w", f.Name(), err)
	}
	st, err1 := f.Stat()
	st2, err2 := at.Stat()
	if err := errors.Join(err1, err2); err != nil || !os.SameFile(st, st2) {
		at.Close()
		if err == nil {
			err = errors.New("the name leads to another file")
		}
		return fmt.Errorf("open %s for positional writes: %w", f.Name(), err)
	}
	f.at = at
	return nil
}

// WriteAt implements SharedMapper.
func (f *osFile) WriteAt(b []byte, off int64) (int, error) {
	if f.at == nil {
		return 0, fmt.Errorf("write %s: not mapped shared", f.Name())
	}
	return f.at.WriteAt(b, off)
}

// sharedMapping is a shared read-write mapping of a file.
type sharedMapping []byte

// Bytes returns the mapped bytes; writes to them go to the file.
func (m sharedMapping) Bytes() []byte { return m }

// Close unmaps the bytes.
func (m sharedMapping) Close() error { return unix.Munmap(m) }

func (m sharedMapping) evict() { dontNeed(m) }
