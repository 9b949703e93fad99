//go:build linux && !purego

package prefetch

import (
	"syscall"
	"testing"
	"unsafe"
)

// On amd64 a prefetch of memory the process may not read does not fault.
// Only this Line promises that: callers must pass readable memory, as the
// portable Line loads from it.
func TestLineOfUnreadableMemory(t *testing.T) {
	m, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(m)
	Line(unsafe.Pointer(unsafe.SliceData(m)))
}
