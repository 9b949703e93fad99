//go:build !windows

package vfs

import (
	"fmt"
	"os"
)

// syncDir fsyncs a directory, making the entries created, renamed and
// removed in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return d.Close()
}
