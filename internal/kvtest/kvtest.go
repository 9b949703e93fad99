// Package kvtest holds helpers for tests that run package kv on the
// in-memory and fault-injecting file systems of internal/vfs.
package kvtest

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

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

// Main runs the tests of a package with the default logger discarding:
// tests open damaged and crashed directories on purpose, and Open logs
// what it repairs to slog.Default(). Tests of what is logged pass their
// own Logger. Use it as TestMain(m) { kvtest.Main(m) }.
func Main(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// CopyDir copies the files of directory src into a new temporary
// directory and returns it: a crash image of a directory on disk, to
// damage without touching the original.
func CopyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // renamed or removed since the listing (a hint file's temporary, say)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
