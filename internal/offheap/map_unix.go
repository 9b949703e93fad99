//go:build unix && !race

package offheap

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Enabled says arenas map their memory (else it comes from the heap).
const Enabled = true

// mapAnon maps n zeroed bytes, or returns nil if the system refuses.
func mapAnon(n int) unsafe.Pointer {
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return p
}

// unmap returns the n bytes at p, mapped by mapAnon, to the system.
func unmap(p unsafe.Pointer, n int) {
	unix.MunmapPtr(p, uintptr(n))
}
