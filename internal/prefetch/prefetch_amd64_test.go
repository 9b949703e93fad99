//go:build linux && !purego

package prefetch

import (
	"syscall"
	"testing"
	"unsafe"
)

// On amd64 a prefetch of memory the process may not read does not fault:
// a caller may prefetch past a value into a page that is gone.
func TestLineOfUnreadableMemory(t *testing.T) {
	m, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(m)
	Line(unsafe.Pointer(unsafe.SliceData(m)))
}
