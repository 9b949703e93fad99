//go:build unix

package main

import (
	"io/fs"
	"syscall"
)

// diskBytes returns the bytes a file takes on disk, as du counts them
// (its allocated blocks): a file preallocated past its length (Pebble's
// WAL) takes more than its size, a sparse one (bbolt's) less.
func diskBytes(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return info.Size()
}
