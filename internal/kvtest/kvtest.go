// Package kvtest holds helpers for tests that run package kv on the
// in-memory and fault-injecting file systems of internal/vfs.
package kvtest

import (
	"github.com/strata-kv/strata/internal/seam"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
)

// OpenFS opens a database in dir on fs, as kv.Open does on the OS.
func OpenFS(fs vfs.FS, dir string, opts *kv.Options) (*kv.DB, error) {
	if opts == nil {
		opts = &kv.Options{}
	}
	db, err := seam.OpenFS(fs, dir, opts)
	if err != nil {
		return nil, err
	}
	return db.(*kv.DB), nil
}
