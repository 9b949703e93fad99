package vfs

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Review 65. 7069ae0 made Remove of a directory durable together with
// the renames of FILES out of it, but not with a pending rename of a
// DIRECTORY out of it. The crash image then moves the renamed directory
// back under the removed one: /d/a/sub/f opens while /d/a does not
// exist (a path whose parent is gone), and /d/sub, where the directory
// is, is lost. No file system shows that: rmdir /d/a needed /d/a empty,
// so it is durable only after the rename that emptied it.
func TestReview65CrashImageOrphansDirRenamedOutOfRemovedDir(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d/a/sub"))
	require.NoError(t, writeFile(t, m, "/d/a/sub/f", "data", true).Close())
	require.NoError(t, m.SyncDir("/d/a/sub"))
	require.NoError(t, m.SyncDir("/d/a"))
	require.NoError(t, m.SyncDir("/d"))
	require.NoError(t, m.Rename("/d/a/sub", "/d/sub")) // /d not synced: pending
	require.NoError(t, m.Remove("/d/a"))               // durable at once

	c := m.CrashClone(0)
	_, errParent := c.List("/d/a")
	_, errOld := c.Open("/d/a/sub/f")
	_, errNew := c.Open("/d/sub/f")
	require.False(t, errOld == nil && errParent != nil,
		"crash image: /d/a/sub/f opens but its parent /d/a does not exist (%v)", errParent)
	require.NoError(t, errNew, "crash image lost /d/sub/f, though rmdir /d/a (durable) came after the rename that emptied it")
}

// Review 65. The same gap seen from MkdirAll: a directory renamed out of
// /d/a, then /d/a removed and made again. MkdirAll drops pending renames
// FROM the name it makes, not from names under it, so the crash image
// puts the old /d/a/sub back into the new /d/a, which 7069ae0 says it
// must not do.
func TestReview65CrashImagePutsOldSubdirIntoRemadeDir(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d/a/sub"))
	require.NoError(t, writeFile(t, m, "/d/a/sub/f", "data", true).Close())
	require.NoError(t, m.SyncDir("/d/a/sub"))
	require.NoError(t, m.Rename("/d/a/sub", "/d/x")) // pending
	require.NoError(t, m.Remove("/d/a"))
	require.NoError(t, m.MkdirAll("/d/a")) // a new, empty /d/a, durable at once

	names, err := m.CrashClone(0).List("/d/a")
	require.NoError(t, err)
	require.Empty(t, names, "crash image put the old subdirectory back into the /d/a made after it was renamed away")
}

// Review 65. MkdirAll drops only the pending rename whose source is the
// name it makes, not the earlier pending renames that rename depended on.
// With a -> b, b -> c pending and then mkdir b, the image replays a -> b
// backwards onto the NEW b: it shows an empty /d/a and no /d/b, though
// mkdir /d/b is durable at once (and /d/a was never an empty directory).
func TestReview65CrashImageMovesNewDirBackAlongRenameChain(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d/a"))
	require.NoError(t, writeFile(t, m, "/d/a/f", "data", true).Close())
	require.NoError(t, m.SyncDir("/d/a"))
	require.NoError(t, m.Rename("/d/a", "/d/b")) // pending
	require.NoError(t, m.Rename("/d/b", "/d/c")) // pending
	require.NoError(t, m.MkdirAll("/d/b"))       // durable at once

	c := m.CrashClone(0)
	_, errB := c.List("/d/b")
	aNames, errA := c.List("/d/a")
	require.NoError(t, errB, "crash image lost /d/b, made durable at once by MkdirAll")
	require.False(t, errA == nil && len(aNames) == 0, "crash image shows /d/a as an empty directory, a state it never had")
}
