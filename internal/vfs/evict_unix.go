//go:build unix

package vfs

import "golang.org/x/sys/unix"

func (m osMapping) evict() { dontNeed(m.m) }

func dontNeed(b []byte) {
	if len(b) > 0 {
		unix.Madvise(b, unix.MADV_DONTNEED) // advice: nothing to do if refused
	}
}
