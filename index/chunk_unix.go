//go:build unix && !race

package index

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// newChunk maps a chunk of zeroed memory outside the Go heap, or returns
// nil if the system refuses. The chunk is aligned to its size, so that
// huge pages can back it (see hugePages; the arena asks for them): it
// maps twice its size and unmaps what lies before and after the aligned
// chunk.
func newChunk() *chunk {
	p, err := unix.MmapPtr(-1, 0, nil, 2*chunkBytes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	skip := (chunkBytes - uintptr(p)%chunkBytes) % chunkBytes
	if skip > 0 {
		unix.MunmapPtr(p, skip)
	}
	c := unsafe.Add(p, skip)
	if tail := chunkBytes - skip; tail > 0 {
		unix.MunmapPtr(unsafe.Add(c, chunkBytes), tail)
	}
	return (*chunk)(c)
}

// freeChunk returns a chunk's memory to the system.
func freeChunk(c *chunk) {
	unix.MunmapPtr(unsafe.Pointer(c), chunkBytes)
}

// offHeap says the arena lives outside the Go heap.
const offHeap = true
