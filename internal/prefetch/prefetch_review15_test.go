//go:build linux

package prefetch

import (
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// Line of any byte of a readable page lying between two unreadable ones
// (its first bytes, as a value at a mapping's start; its last, as a value
// ending at a mapping's end) does not fault, whichever Line is built
// (go test -tags purego runs the portable one, which loads a word).
func TestReview15LineWithinReadablePage(t *testing.T) {
	ps := os.Getpagesize()
	m, err := syscall.Mmap(-1, 0, 3*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(m)
	if err := syscall.Mprotect(m[:ps], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	if err := syscall.Mprotect(m[2*ps:], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	page := m[ps : 2*ps]
	for i := range page {
		page[i] = byte(i)
	}
	if err := syscall.Mprotect(page, syscall.PROT_READ); err != nil {
		t.Skip("mprotect:", err)
	}
	for i := range page {
		Line(unsafe.Pointer(&page[i]))
	}
	for i := range page {
		if page[i] != byte(i) {
			t.Fatalf("byte %d is %d after Line", i, page[i])
		}
	}
}
