package kv

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// A Checkpoint that fails part way (here: the copy of the active segment
// cannot be created) returns an error, and must not leave behind a
// directory that Open reads as a database at a version Checkpoint never
// returned: every commit after the last sealed segment would be silently
// missing from it. (Pebble's Checkpoint removes its directory on error.)
// The directory is also in the way of a second try: Checkpoint wants a
// directory that does not exist.
//
// Today the directory stays, holding the sealed segments, and opens
// without any error at the newest version of the last sealed segment.
func TestReview51FailedCheckpointLeavesAnOpenablePrefix(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem, -1, false)
	opts := Options{SegmentSize: 4 << 10, CompactAt: -1}
	db, err := openMem(t, efs, opts)
	require.NoError(t, err)
	defer db.Close()
	for i := range 400 {
		mustPut(t, db, "r", fmt.Sprintf("k%03d", i%50), Int(int64(i)))
	}
	last := db.LastVersion()
	active := db.segs.Load().active
	require.Greater(t, active.BaseVersion(), uint64(1), "some segments are sealed")
	require.LessOrEqual(t, active.BaseVersion(), uint64(last), "the active segment holds commits")

	cpActive := segment.FileName(active.ID())
	efs.FailWhen(func(op vfs.Op) bool { // (in /cp or the temporary directory beside it)
		return op.Kind == vfs.OpCreate && strings.HasPrefix(op.Path, "/cp") && filepath.Base(op.Path) == cpActive
	})
	_, err = db.Checkpoint("/cp")
	require.Error(t, err, "the checkpoint failed")
	efs.FailWhen(nil)

	o, err := (&Options{CompactAt: -1}).normalize()
	require.NoError(t, err)
	if _, lerr := mem.List("/cp"); lerr == nil {
		cdb, err := openFS(mem, "/cp", o)
		if err == nil {
			got := cdb.LastVersion()
			cdb.Close()
			t.Errorf("the failed checkpoint's directory opens as a database at version %d (the source is at %d): "+
				"a checkpoint that failed reads as a valid, older database", got, last)
		}
	}
	_, err = db.Checkpoint("/cp")
	require.NoError(t, err, "a second Checkpoint into the same directory, once the fault is gone")
}

// r51DirFS is a Mem that also tracks whether each directory's own entry
// (in its parent) is durable: a directory MkdirAll creates is not, until
// its parent is synced (POSIX: creating a directory, like creating a
// file, changes the parent, which only an fsync of the parent makes
// durable; Pebble's Checkpoint syncs the parents it creates).
type r51DirFS struct {
	*vfs.Mem
	mu      sync.Mutex
	pending map[string]bool // created, parent not synced since
}

func (f *r51DirFS) MkdirAll(dir string) error {
	dir = filepath.Clean(dir)
	var created []string
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := f.Mem.List(d); err != nil {
			created = append(created, d)
		}
	}
	if err := f.Mem.MkdirAll(dir); err != nil {
		return err
	}
	f.mu.Lock()
	for _, d := range created {
		f.pending[d] = true
	}
	f.mu.Unlock()
	return nil
}

func (f *r51DirFS) SyncDir(dir string) error {
	if err := f.Mem.SyncDir(dir); err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	f.mu.Lock()
	for d := range f.pending {
		if filepath.Dir(d) == dir {
			delete(f.pending, d)
		}
	}
	f.mu.Unlock()
	return nil
}

func (f *r51DirFS) Lock(name string, shared bool, timeout time.Duration) (io.Closer, error) {
	return f.Mem.Lock(name, shared, timeout)
}

// Checkpoint says "Everything is fsynced before it returns", and DESIGN
// says an fsync of the directory follows every create a durability
// promise depends on. The checkpoint's own directory is created by
// Checkpoint, but its parent is never synced: after a power loss the
// whole checkpoint may be gone although Checkpoint returned nil.
func TestReview51CheckpointDirectoryEntryNeverSynced(t *testing.T) {
	fs := &r51DirFS{Mem: vfs.NewMem(), pending: map[string]bool{}}
	require.NoError(t, fs.Mem.MkdirAll("/backups"))
	db, err := openMem(t, fs, Options{CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	mustPut(t, db, "r", "k", Int(1))
	_, err = db.Checkpoint("/backups/cp1")
	require.NoError(t, err)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	require.False(t, fs.pending["/backups/cp1"],
		"Checkpoint returned, but /backups was never fsynced after /backups/cp1 was created in it: a power loss can take the checkpoint")
}

// The same for a new database directory: Open creates it (0700) and a
// Strict commit returns after fsync, but the directory's entry in its
// parent is never made durable, so a power loss can lose the database
// with every acknowledged commit.
func TestReview51NewDatabaseDirectoryEntryNeverSynced(t *testing.T) {
	fs := &r51DirFS{Mem: vfs.NewMem(), pending: map[string]bool{}}
	require.NoError(t, fs.Mem.MkdirAll("/data"))
	o, err := (&Options{Durability: Strict, CompactAt: -1}).normalize()
	require.NoError(t, err)
	db, err := openFS(fs, "/data/db", o)
	require.NoError(t, err)
	defer db.Close()
	mustPut(t, db, "r", "k", Int(1)) // Strict: acknowledged after fsync
	fs.mu.Lock()
	defer fs.mu.Unlock()
	require.False(t, fs.pending["/data/db"],
		"a Strict commit was acknowledged, but /data was never fsynced after /data/db was created in it: a power loss can take the database")
}
