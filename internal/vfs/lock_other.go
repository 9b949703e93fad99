//go:build !unix

package vfs

import (
	"errors"
	"os"
)

func flock(f *os.File, shared bool) error {
	return errors.New("vfs: directory locks are only implemented on unix systems")
}
