//go:build !amd64 || purego

package prefetch

import (
	"sync/atomic"
	"unsafe"
)

// Line hints that the cache line holding p will be read soon: here by
// loading the aligned word that holds p's byte (in the same line, and so
// the same page). p must point to readable memory.
func Line(p unsafe.Pointer) {
	atomic.LoadUint32((*uint32)(unsafe.Add(p, -int(uintptr(p)&3))))
}
