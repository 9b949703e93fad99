//go:build unix && !race

package index

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// newChunk maps a chunk of zeroed memory outside the Go heap, or returns
// nil if the system refuses.
func newChunk() *chunk {
	b, err := unix.Mmap(-1, 0, chunkBytes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return (*chunk)(unsafe.Pointer(unsafe.SliceData(b)))
}

// freeChunk returns a chunk's memory to the system.
func freeChunk(c *chunk) {
	unix.Munmap(unsafe.Slice(&c[0], chunkBytes))
}

// offHeap says the arena lives outside the Go heap.
const offHeap = true
