//go:build !unix

package index

// newChunk allocates a chunk on the Go heap (it holds no pointers, so the
// collector does not scan it).
func newChunk() *chunk { return new(chunk) }

// freeChunk leaves the chunk to the garbage collector.
func freeChunk(*chunk) {}

// offHeap says the arena lives outside the Go heap.
const offHeap = false
