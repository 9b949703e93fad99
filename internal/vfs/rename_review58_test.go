package vfs

import (
	"errors"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// review58Tree lists everything under dir, recursively: "name/" for a
// directory, "name=data" for a file.
func review58Tree(t *testing.T, fsys FS, dir string) []string {
	t.Helper()
	var out []string
	var walk func(rel string)
	walk = func(rel string) {
		names, err := fsys.List(filepath.Join(dir, rel))
		require.NoError(t, err)
		for _, n := range names {
			p := filepath.Join(rel, n)
			if _, err := fsys.List(filepath.Join(dir, p)); err == nil {
				out = append(out, p+"/")
				walk(p)
				continue
			}
			out = append(out, p+"="+readAll(t, fsys, filepath.Join(dir, p)))
		}
	}
	walk("")
	return out
}

// review58Outcome classifies a Rename's error as the callers in this
// tree test it.
func review58Outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, fs.ErrExist):
		return "exist"
	case errors.Is(err, fs.ErrNotExist):
		return "notexist"
	default:
		return "error"
	}
}

// Mem.Rename (directories since renameDir, files as before) against
// os.Rename, case by case: the same outcome (nil, fs.ErrExist,
// fs.ErrNotExist, another error) and the same tree afterwards.
func TestReview58RenameMatchesOS(t *testing.T) {
	type fixture struct {
		dirs  []string
		files []string
	}
	base := fixture{dirs: []string{"a", "a/sub", "empty", "full", "a.x"}, files: []string{"a/f", "a/sub/g", "full/h", "file", "a.x/i"}}
	cases := []struct {
		name     string
		old, new string
	}{
		{"dir onto a missing name", "a", "b"},
		{"dir onto an empty dir", "a", "empty"},
		{"dir onto a full dir", "a", "full"},
		{"dir onto itself", "a", "a"},
		{"dir into itself (missing)", "a", "a/sub/in"},
		{"dir into itself (an existing subdir)", "a", "a/sub"},
		{"dir onto its own parent", "a/sub", "."},
		{"dir under a missing parent", "a", "nope/b"},
		{"dir onto a sibling that shares its prefix", "a", "a.x"},
		{"dir beside a sibling that shares its prefix", "a", "c"},
		{"subdir up a level", "a/sub", "sub2"},
		{"file onto an empty dir", "file", "empty"},
		{"file onto a full dir", "file", "full"},
		{"missing onto a missing name", "nope", "b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var outcomes [2]string
			var trees [2][]string
			for i, mk := range []func(t *testing.T) (FS, string){
				func(t *testing.T) (FS, string) { return Default, t.TempDir() },
				func(t *testing.T) (FS, string) { m := NewMem(); require.NoError(t, m.MkdirAll("/d")); return m, "/d" },
			} {
				fsys, dir := mk(t)
				for _, d := range base.dirs {
					require.NoError(t, fsys.MkdirAll(filepath.Join(dir, d)))
				}
				for _, f := range base.files {
					require.NoError(t, writeFile(t, fsys, filepath.Join(dir, f), f, true).Close())
				}
				err := fsys.Rename(filepath.Join(dir, c.old), filepath.Join(dir, c.new))
				outcomes[i] = review58Outcome(err)
				if i == 0 && outcomes[i] == "error" {
					t.Logf("os: %v (ENOTDIR %v, EINVAL %v)", err, errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EINVAL))
				} else if outcomes[i] == "error" {
					t.Logf("mem: %v", err)
				}
				trees[i] = review58Tree(t, fsys, dir)
			}
			require.Equal(t, outcomes[0], outcomes[1], "the outcome: os, mem")
			require.Equal(t, trees[0], trees[1], "the tree afterwards: os, mem")
		})
	}
}

// What a power loss leaves after a directory rename must be a state a
// real file system can be in: the renamed directory holds what was
// durable in it (the old directory's entries), never entries of a
// directory removed earlier under the new name, which the rename
// replaced as a name only (a different inode on disk).
func TestReview58RenameDirCrashNoStaleEntries(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d/cp"))
	// An earlier /cp, durable, then removed (as a user removes an old
	// checkpoint before taking a new one under its name).
	require.NoError(t, writeFile(t, m, "/d/cp/old", "old", true).Close())
	require.NoError(t, m.SyncDir("/d/cp"))
	require.NoError(t, m.Remove("/d/cp/old"))
	require.NoError(t, m.Remove("/d/cp"))

	require.NoError(t, m.MkdirAll("/d/tmp"))
	require.NoError(t, writeFile(t, m, "/d/tmp/new", "new", true).Close())
	require.NoError(t, m.SyncDir("/d/tmp"))
	require.NoError(t, m.Rename("/d/tmp", "/d/cp"))
	require.NoError(t, m.SyncDir("/d"))
	names, err := m.List("/d/cp")
	require.NoError(t, err)
	require.Equal(t, []string{"new"}, names, "before the crash")

	for _, c := range []*Mem{m.CrashClone(0), m.CrashClone(1), m.CrashImage(func(string, int64, []byte) []byte { return nil })} {
		names, err := c.List("/d/cp")
		require.NoError(t, err)
		require.Equal(t, []string{"new"}, names, "after the crash, /d/cp holds only what the renamed directory held")
	}
}

// A file image after a crash holds no entry under a directory that does
// not exist in it (List of the parent would not show it, but Open finds
// it, and a later MkdirAll or rename onto that name brings it back).
func TestReview58CrashNoOrphanEntries(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d/tmp"))
	require.NoError(t, writeFile(t, m, "/d/tmp/x", "x", true).Close())
	require.NoError(t, m.SyncDir("/d/tmp"))
	require.NoError(t, m.Remove("/d/tmp/x")) // a failed checkpoint's cleanup
	require.NoError(t, m.Remove("/d/tmp"))
	c := m.CrashClone(0)
	_, err := c.List("/d/tmp")
	require.Error(t, err)
	require.NoError(t, c.MkdirAll("/d/tmp"))
	names, err := c.List("/d/tmp")
	require.NoError(t, err)
	require.Empty(t, names, "a new directory under a removed one's name is empty")
}

// A lock follows the file (flock(2) locks the inode), so after its
// directory is renamed the file under its new name is still locked, as
// on the OS. Mem keys locks by path and renameDir does not move them:
// the renamed LOCK file can be locked a second time.
func TestReview58RenameDirKeepsLocks(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) (FS, string){
		"os":  func(t *testing.T) (FS, string) { return Default, t.TempDir() },
		"mem": func(t *testing.T) (FS, string) { m := NewMem(); require.NoError(t, m.MkdirAll("/d")); return m, "/d" },
	} {
		t.Run(name, func(t *testing.T) {
			fsys, dir := mk(t)
			require.NoError(t, fsys.MkdirAll(filepath.Join(dir, "a")))
			l, err := fsys.Lock(filepath.Join(dir, "a", "LOCK"), false, 0)
			require.NoError(t, err)
			defer l.Close()
			require.NoError(t, fsys.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "b")))
			l2, err := fsys.Lock(filepath.Join(dir, "b", "LOCK"), false, 0)
			if err == nil {
				l2.Close()
			}
			require.ErrorIs(t, err, ErrLocked, "the renamed LOCK file is still locked")
		})
	}
}

// A rename is a change to the parent directory's entries: on Mem a
// file's rename survives a power loss only once the parent is synced
// (SyncDir), as on a real file system. A directory's rename is durable
// at once (renameDir), so CrashClone(0) can never show the state a power
// loss between the rename and the parent's fsync may leave. With it, no
// crash test can see a missing fsync of the parent after a directory
// rename: Checkpoint with its last step (SyncDir(parent)) replaced by
// "return nil" passes every Checkpoint test in ./kv.
func TestReview58RenameDirDurableOnlyOnceParentSynced(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d/tmp"))
	require.NoError(t, writeFile(t, m, "/d/tmp/x", "x", true).Close())
	require.NoError(t, m.SyncDir("/d/tmp"))
	require.NoError(t, writeFile(t, m, "/d/f.tmp", "f", true).Close())
	require.NoError(t, m.SyncDir("/d"))

	require.NoError(t, m.Rename("/d/f.tmp", "/d/f"))
	require.NoError(t, m.Rename("/d/tmp", "/d/cp"))
	c := m.CrashClone(0)
	names, err := c.List("/d")
	require.NoError(t, err)
	require.Contains(t, names, "f.tmp", "a file's rename is not durable before SyncDir(/d)")
	require.Contains(t, names, "tmp", "nor a directory's: the parent is not synced (got %v)", names)

	require.NoError(t, m.SyncDir("/d"))
	names, err = m.CrashClone(0).List("/d")
	require.NoError(t, err)
	require.Equal(t, []string{"cp", "f"}, names)
}
