package vfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// MapShared implements SharedMapper.
func (f *osFile) MapShared(size int64) (Mapping, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, fmt.Errorf("map %s: bad size %d", f.Name(), size)
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

// sharedMapping is a shared read-write mapping of a file.
type sharedMapping []byte

// Bytes returns the mapped bytes; writes to them go to the file.
func (m sharedMapping) Bytes() []byte { return m }

// Close unmaps the bytes.
func (m sharedMapping) Close() error { return unix.Munmap(m) }

func (m sharedMapping) evict() { dontNeed(m) }
