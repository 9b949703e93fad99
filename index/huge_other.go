//go:build !linux

package index

import "unsafe"

// hugePages does nothing here: only Linux takes the advice (see
// huge_linux.go).
func hugePages(unsafe.Pointer, int) {}
