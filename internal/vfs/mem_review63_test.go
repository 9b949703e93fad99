package vfs

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Review 63. Mem undoes, in a crash image, a directory rename whose new
// parent was not synced, but keeps a directory created afterwards under
// the old name (MkdirAll is durable at once). The image then holds one
// directory /d/a with the files of two: the renamed one's and the new
// one's. No file system can show that after a power loss: the rename
// either happened (a holds only the new files, b the old ones) or did
// not (then mkdir a, ordered after it, did not either).
func TestReview63CrashImageMergesRenamedDirWithNewDirOfOldName(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d/a"))
	require.NoError(t, writeFile(t, m, "/d/a/old", "old", true).Close())
	require.NoError(t, m.SyncDir("/d/a"))
	require.NoError(t, m.Rename("/d/a", "/d/b")) // /d not synced: pending
	require.NoError(t, m.MkdirAll("/d/a"))       // durable at once
	require.NoError(t, writeFile(t, m, "/d/a/new", "new", true).Close())
	require.NoError(t, m.SyncDir("/d/a"))

	names, err := m.CrashClone(0).List("/d/a")
	require.NoError(t, err)
	require.NotEqual(t, []string{"new", "old"}, names,
		"after a power loss /d/a holds the files of two directories: the renamed one (put back) and the one made after it")
}

// Review 63. Mem forgets, when a directory is removed, the durable
// entries under it, even that of a file renamed out of it whose rename
// was never synced. The crash image then has the file nowhere: not under
// its old name (forgotten with the directory), not under its new one (the
// rename not durable). On a journalling file system the rmdir, which
// comes after the rename, is durable only with it: the file is under
// one name or the other.
func TestReview63CrashImageLosesFileRenamedOutOfRemovedDir(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d/a"))
	require.NoError(t, writeFile(t, m, "/d/a/f", "data", true).Close())
	require.NoError(t, m.SyncDir("/d/a"))
	require.NoError(t, m.SyncDir("/d"))
	require.NoError(t, m.Rename("/d/a/f", "/d/f")) // /d and /d/a not synced
	require.NoError(t, m.Remove("/d/a"))

	c := m.CrashClone(0)
	_, errOld := c.Open("/d/a/f")
	_, errNew := c.Open("/d/f")
	require.True(t, errOld == nil || errNew == nil,
		"after a power loss the renamed file is under neither name (old: %v, new: %v)", errOld, errNew)
}
