//go:build unix && !race

package index

import (
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// minMappedTable is the smallest table, in bytes (five a slot), that
// newTable maps; smaller ones come from the heap.
const minMappedTable = 64 << 10

// mapTable returns an empty table of size slots in memory mapped outside
// the Go heap, or nil if it is too small to map or the system refuses.
// A table of 2 MiB or more starts 2 MiB-aligned and asks for huge pages,
// as the arena's chunks do: a probe's slot is a random load in megabytes.
// The mapping is unmapped by a cleanup once the table is unreachable:
// after the writer replaced it and every reader that loaded it is done
// with it (a reader keeps it reachable while it reads its slots: see
// probe's KeepAlive).
func mapTable(size int) *table {
	n := 5 * size
	if n < minMappedTable {
		return nil
	}
	page := os.Getpagesize()
	n = (n + page - 1) &^ (page - 1)
	align := 1
	if n >= 2<<20 {
		align = 2 << 20
	}
	extra := 0
	if align > 1 {
		extra = align
	}
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(n+extra), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	if align > 1 {
		// Keep the aligned n bytes; unmap what lies before and after
		// (page multiples, as n and align are).
		skip := (uintptr(align) - uintptr(p)%uintptr(align)) % uintptr(align)
		if skip > 0 {
			unix.MunmapPtr(p, skip)
		}
		if tail := uintptr(align) - skip; tail > 0 {
			unix.MunmapPtr(unsafe.Add(p, skip+uintptr(n)), tail)
		}
		p = unsafe.Add(p, skip)
		hugePages(p, n)
	}
	t := &table{
		slots:    unsafe.Slice((*uint32)(p), size),
		tags:     unsafe.Slice((*uint8)(unsafe.Add(p, 4*size)), size),
		size:     uint64(size),
		unmapped: new(atomic.Bool),
	}
	m := &tableMapping{p: p, n: n, done: t.unmapped}
	t.mapping = m
	t.cleanup = runtime.AddCleanup(t, unmapTable, m)
	return t
}

// release unmaps a mapped table at once, and cancels its cleanup: for a
// table no reader can hold (the index's at Close).
func (t *table) release() {
	if m, ok := t.mapping.(*tableMapping); ok {
		t.cleanup.Stop()
		unmapTable(m)
	}
}

// tableMapping is what a table's cleanup unmaps.
type tableMapping struct {
	p    unsafe.Pointer
	n    int
	done *atomic.Bool
}

// unmapTable returns a table's memory to the system.
func unmapTable(m *tableMapping) {
	unix.MunmapPtr(m.p, uintptr(m.n))
	m.done.Store(true)
}
