//go:build !unix || race

package index

// Off Unix, and under the race detector (which sees only Go memory, so
// that -race checks every access to the arena), chunks live on the Go
// heap.

// newChunk allocates a chunk on the Go heap (it holds no pointers, so the
// collector does not scan it).
func newChunk() *chunk { return new(chunk) }

// freeChunk leaves the chunk to the garbage collector.
func freeChunk(*chunk) {}

// offHeap says the arena lives outside the Go heap.
const offHeap = false
