package index

import (
	"encoding/binary"
	"testing"
	"unsafe"
)

// The thirty-third review (of 26cd477): Close left the index's mapped
// hash table to a cleanup that only a later collection runs, and a
// mapped table does not hasten one (fixed: Close unmaps it at once, as
// no reader may hold it then). Its other findings: none.

// Close "frees the index's memory" and no method but Counts and Bytes
// may run during or after it, so nothing can still probe its table.
func TestReview33CloseLeavesTableMapped(t *testing.T) {
	if !offHeap {
		t.Skip("heap tables here")
	}
	ix := New()
	key := make([]byte, 8)
	for i := range 300_000 {
		binary.BigEndian.PutUint64(key, uint64(i))
		if err := ix.Add("r", unsafe.String(&key[0], len(key)), Record{Version: uint64(i + 1), Segment: 1, Field: 100}); err != nil {
			t.Fatal(err)
		}
	}
	last := ix.hash.Load()
	gone, size := last.unmapped, 5*len(last.slots)
	last = nil
	ix.Close()
	if !gone.Load() {
		t.Fatalf("Close returned with its %d-byte hash table still mapped (freed only by a later collection)", size)
	}
}
