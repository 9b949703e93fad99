//go:build amd64 && !purego

package prefetch

import "unsafe"

// Line hints that the cache line holding p will be read soon. p must
// point to readable memory (other platforms load from it); here it is
// never dereferenced, and a prefetch does not fault.
//
//go:noescape
func Line(p unsafe.Pointer)
