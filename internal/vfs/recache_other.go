//go:build !linux

package vfs

// recacheHuge is RecacheHuge off Linux: nothing to do.
func recacheHuge(string) error { return nil }

// HugeMapped is 0 off Linux: see the Linux version.
func HugeMapped(string) (int64, error) { return 0, nil }
