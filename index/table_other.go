//go:build !unix || race

package index

// mapTable returns nil: off Unix, and under the race detector (which
// sees only Go memory), tables live on the Go heap.
func mapTable(int) *table { return nil }

// release does nothing: the heap's tables go with the collector.
func (t *table) release() {}
