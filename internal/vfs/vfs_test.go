package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, fs FS, name, data string, sync bool) File {
	t.Helper()
	f, err := fs.Create(name)
	require.NoError(t, err)
	_, err = f.Write([]byte(data))
	require.NoError(t, err)
	if sync {
		require.NoError(t, f.Sync())
	}
	return f
}

func readAll(t *testing.T, fs FS, name string) string {
	t.Helper()
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	m, err := f.Map()
	require.NoError(t, err)
	defer m.Close()
	return string(m.Bytes())
}

// Both implementations must behave alike for ordinary use.
func TestFSBasics(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) (FS, string){
		"os":  func(t *testing.T) (FS, string) { return Default, t.TempDir() },
		"mem": func(t *testing.T) (FS, string) { m := NewMem(); require.NoError(t, m.MkdirAll("/d")); return m, "/d" },
	} {
		t.Run(name, func(t *testing.T) {
			fs, dir := mk(t)
			a := filepath.Join(dir, "a")
			f := writeFile(t, fs, a, "hello", true)
			require.NoError(t, f.Close())
			require.Equal(t, "hello", readAll(t, fs, a))

			rw, err := fs.OpenRW(a)
			require.NoError(t, err)
			_, err = rw.Write([]byte(" world"))
			require.NoError(t, err)
			size, err := rw.Size()
			require.NoError(t, err)
			require.EqualValues(t, 11, size)
			buf := make([]byte, 5)
			_, err = rw.ReadAt(buf, 6)
			require.NoError(t, err)
			require.Equal(t, "world", string(buf))
			_, err = rw.ReadAt(buf, 9)
			require.ErrorIs(t, err, io.EOF)
			require.NoError(t, rw.Truncate(5))
			require.NoError(t, rw.Close())
			require.Equal(t, "hello", readAll(t, fs, a))

			require.NoError(t, fs.Rename(a, filepath.Join(dir, "b")))
			names, err := fs.List(dir)
			require.NoError(t, err)
			require.Equal(t, []string{"b"}, names)
			require.NoError(t, fs.SyncDir(dir))
			require.NoError(t, fs.Remove(filepath.Join(dir, "b")))
			_, err = fs.Open(filepath.Join(dir, "b"))
			require.Error(t, err)

			empty := writeFile(t, fs, filepath.Join(dir, "empty"), "", false)
			m, err := empty.Map()
			require.NoError(t, err)
			require.Empty(t, m.Bytes())
			require.NoError(t, m.Close())
			require.NoError(t, empty.Close())

			ro, err := fs.Open(filepath.Join(dir, "empty"))
			require.NoError(t, err)
			_, err = ro.Write([]byte("x"))
			require.Error(t, err, "a read-only file must refuse writes")
			require.NoError(t, ro.Close())

			// Locks: exclusive excludes all; shared excludes exclusive only.
			lk := filepath.Join(dir, "LOCK")
			l1, err := fs.Lock(lk, false, 0)
			require.NoError(t, err)
			_, err = fs.Lock(lk, false, 0)
			require.ErrorIs(t, err, ErrLocked)
			require.Contains(t, err.Error(), "held by a writer")
			if name == "os" {
				require.Contains(t, err.Error(), fmt.Sprintf("process %d", os.Getpid()))
			}
			_, err = fs.Lock(lk, true, 0)
			require.ErrorIs(t, err, ErrLocked)
			require.Contains(t, err.Error(), "held by a writer")
			require.NoError(t, l1.Close())
			s1, err := fs.Lock(lk, true, 0)
			require.NoError(t, err)
			s2, err := fs.Lock(lk, true, 0)
			require.NoError(t, err)
			_, err = fs.Lock(lk, false, 0)
			require.ErrorIs(t, err, ErrLocked)
			require.Contains(t, err.Error(), "held by read-only opens")
			require.NoError(t, s1.Close())
			// A timeout waits for the holder to let go.
			released := make(chan struct{})
			go func() { s2.Close(); close(released) }()
			l3, err := fs.Lock(lk, false, time.Minute)
			require.NoError(t, err)
			<-released
			start := time.Now()
			_, err = fs.Lock(lk, false, 30*time.Millisecond)
			require.ErrorIs(t, err, ErrLocked, "the timeout runs out")
			require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
			require.NoError(t, l3.Close())
		})
	}
}

func TestMemCrashKeepsOnlySynced(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d"))

	// Synced data in a synced directory entry survives; the rest does not.
	f := writeFile(t, m, "/d/a", "durable", true)
	require.NoError(t, m.SyncDir("/d"))
	_, err := f.Write([]byte("-volatile"))
	require.NoError(t, err)
	// A synced file whose directory entry was never synced is lost.
	g := writeFile(t, m, "/d/b", "lost", true)
	require.NoError(t, g.Close())

	c := m.CrashClone(0)
	require.Equal(t, "durable", readAll(t, c, "/d/a"))
	_, err = c.Open("/d/b")
	require.Error(t, err)

	half := m.CrashClone(0.5)
	require.Equal(t, "durable-vol", readAll(t, half, "/d/a"))

	all := m.CrashClone(1)
	require.Equal(t, "durable-volatile", readAll(t, all, "/d/a"))
	require.Equal(t, "lost", readAll(t, all, "/d/b"))

	// A rename is durable only after SyncDir.
	require.NoError(t, m.Rename("/d/a", "/d/c"))
	c = m.CrashClone(0)
	require.Equal(t, "durable", readAll(t, c, "/d/a"))
	require.NoError(t, m.SyncDir("/d"))
	c = m.CrashClone(0)
	require.Equal(t, "durable", readAll(t, c, "/d/c"))
	_, err = c.Open("/d/a")
	require.Error(t, err)

	// Truncating below the synced size and rewriting must not alter the
	// synced snapshot until the next Sync.
	require.NoError(t, f.Truncate(3))
	_, err = f.Write([]byte("XYZ"))
	require.NoError(t, err)
	require.Equal(t, "durable", readAll(t, m.CrashClone(0), "/d/c"))
	require.NoError(t, f.Sync())
	require.Equal(t, "durXYZ", readAll(t, m.CrashClone(0), "/d/c"))
}

// CrashImage with Pages keeps any subset of the unsynced pages, holes
// filled as asked, and never touches synced bytes.
func TestMemCrashImageKeepsChosenPages(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d"))
	f, err := m.Create("/d/f")
	require.NoError(t, err)
	require.NoError(t, m.SyncDir("/d"))
	data := make([]byte, 3*PageSize+100)
	for i := range data {
		data[i] = byte(i%250) + 1
	}
	_, err = f.Write(data[:PageSize+10]) // synced: page 0 and 10 bytes of page 1
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	_, err = f.Write(data[PageSize+10:])
	require.NoError(t, err)

	zero := func(b []byte) { clear(b) }
	keep := func(pages ...int64) func(string, int64) bool {
		return func(_ string, p int64) bool { return slices.Contains(pages, p) }
	}
	img := readAll(t, m.CrashImage(Pages(PageSize, keep(3), zero)), "/d/f")
	require.Len(t, img, len(data), "the file ends with the last page kept")
	require.Equal(t, string(data[:PageSize+10]), img[:PageSize+10], "synced bytes are intact")
	require.Equal(t, string(make([]byte, 2*PageSize-10)), img[PageSize+10:3*PageSize], "pages 1 (unsynced part) and 2 are a hole")
	require.Equal(t, string(data[3*PageSize:]), img[3*PageSize:])

	img = readAll(t, m.CrashImage(Pages(PageSize, keep(1), func(b []byte) { copy(b, "garbage") })), "/d/f")
	require.Equal(t, string(data[:2*PageSize]), img, "page 1 kept whole, nothing after")
	img = readAll(t, m.CrashImage(Pages(PageSize, keep(), zero)), "/d/f")
	require.Equal(t, string(data[:PageSize+10]), img)
}

func TestErrorFSFailsChosenOperation(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d"))
	e := NewErrorFS(m, 2, false) // 0 create, 1 write, 2 sync
	f, err := e.Create("/d/a")
	require.NoError(t, err)
	_, err = f.Write([]byte("x"))
	require.NoError(t, err)
	err = f.Sync()
	var inj *InjectedError
	require.True(t, errors.As(err, &inj))
	require.Equal(t, Op{Kind: OpSync, Path: "/d/a", Index: 2}, inj.Op)
	require.NoError(t, f.Sync(), "not sticky: operation 3 succeeds")
	require.EqualValues(t, 4, e.Ops())

	// Operations picked by kind, path and offset: the second write to
	// /d/a (at offset 1), and nothing else.
	var after []Op
	e.SetAfter(func(op Op) { after = append(after, op) })
	e.FailWhen(func(op Op) bool { return op.Kind == OpWrite && op.Path == "/d/a" && op.Offset == 1 })
	_, err = f.Write([]byte("y"))
	require.True(t, errors.As(err, &inj))
	require.Equal(t, OpWrite, inj.Op.Kind)
	require.EqualValues(t, 1, inj.Op.Offset)
	require.Contains(t, err.Error(), "write /d/a at 1")
	g, err := e.Create("/d/b")
	require.NoError(t, err)
	_, err = g.Write([]byte("zz"))
	require.NoError(t, err, "another file")
	_, err = g.Write([]byte("z"))
	require.NoError(t, err, "offset 2 of another file")
	e.FailWhen(nil)
	_, err = f.Write([]byte("y"))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(0))
	require.Equal(t, []Op{
		{Kind: OpCreate, Path: "/d/b", Index: 5}, {Kind: OpWrite, Path: "/d/b", Index: 6}, {Kind: OpWrite, Path: "/d/b", Offset: 2, Index: 7},
		{Kind: OpWrite, Path: "/d/a", Offset: 1, Index: 8}, {Kind: OpTruncate, Path: "/d/a", Index: 9},
	}, after, "SetAfter sees each change that succeeded, typed")
	g2, err := e.OpenRW("/d/b")
	require.NoError(t, err)
	e.FailWhen(func(op Op) bool { return op.Kind == OpWrite && op.Offset == 3 })
	_, err = g2.Write([]byte("w"))
	require.Error(t, err, "a file opened for appending writes at its end")
	e.Disarm()
	require.NoError(t, g.Close())
	require.NoError(t, g2.Close())

	s := NewErrorFS(m, 1, true)
	_, err = s.List("/d")
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err = s.List("/d")
		require.Error(t, err, "sticky: every operation from 1 on fails")
	}
	s.Disarm()
	_, err = s.List("/d")
	require.NoError(t, err)
	s.FailFrom(s.Ops() + 1)
	_, err = s.List("/d")
	require.NoError(t, err)
	_, err = s.List("/d")
	require.Error(t, err)
	_, err = s.List("/d")
	require.Error(t, err)
}

func TestWriteFileAtomic(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d"))
	require.NoError(t, WriteFileAtomic(m, "/d/f", []byte("v1")))
	c := m.CrashClone(0)
	require.Equal(t, "v1", readAll(t, c, "/d/f"))
	names, err := c.List("/d")
	require.NoError(t, err)
	require.Equal(t, []string{"f"}, names)

	// Failing any one of its operations leaves the old file whole.
	for i := int64(0); i < 6; i++ {
		e := NewErrorFS(m, i, false)
		if err := WriteFileAtomic(e, "/d/f", []byte("v2-longer")); err != nil {
			got := readAll(t, m.CrashClone(0), "/d/f")
			require.Contains(t, []string{"v1", "v2-longer"}, got)
		}
	}
}

// MkdirAllSync syncs the parent of every directory it creates, deepest
// first, and nothing else; Remove removes an empty directory but not one
// that holds something. Alike on both implementations.
func TestMkdirAllSyncAndRemoveDir(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) (FS, string){
		"os":  func(t *testing.T) (FS, string) { return Default, t.TempDir() },
		"mem": func(t *testing.T) (FS, string) { m := NewMem(); require.NoError(t, m.MkdirAll("/d")); return m, "/d" },
	} {
		t.Run(name, func(t *testing.T) {
			fs, dir := mk(t)
			var synced []string
			efs := NewErrorFS(fs, -1, false)
			efs.SetAfter(func(op Op) {
				if op.Kind == OpSyncDir {
					synced = append(synced, op.Path)
				}
			})
			deep := filepath.Join(dir, "a", "b", "c")
			created, err := MkdirAllSync(efs, deep)
			require.NoError(t, err)
			require.True(t, created)
			require.Equal(t, []string{filepath.Join(dir, "a", "b"), filepath.Join(dir, "a"), dir}, synced)
			_, err = fs.List(deep)
			require.NoError(t, err)

			synced = nil
			created, err = MkdirAllSync(efs, deep)
			require.NoError(t, err)
			require.False(t, created, "it was there")
			require.Empty(t, synced)

			f := writeFile(t, fs, filepath.Join(deep, "x"), "x", false)
			require.NoError(t, f.Close())
			require.Error(t, fs.Remove(filepath.Join(dir, "a", "b")), "not empty: holds a directory")
			require.Error(t, fs.Remove(deep), "not empty: holds a file")
			require.NoError(t, fs.Remove(filepath.Join(deep, "x")))
			require.NoError(t, fs.Remove(deep))
			_, err = fs.List(deep)
			require.Error(t, err, "removed")
			_, err = fs.List(filepath.Join(dir, "a", "b"))
			require.NoError(t, err, "its parent stays")
		})
	}
}

// A directory renames with everything under it onto a missing name,
// never onto a directory, even empty (an error that is fs.ErrExist, as
// os.Rename says), alike on both implementations; on Mem, what was
// durable under the old name is durable under the new one once the
// parent is synced (before that, a crash image undoes the rename).
func TestRenameDir(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) (FS, string){
		"os":  func(t *testing.T) (FS, string) { return Default, t.TempDir() },
		"mem": func(t *testing.T) (FS, string) { m := NewMem(); require.NoError(t, m.MkdirAll("/d")); return m, "/d" },
	} {
		t.Run(name, func(t *testing.T) {
			fs, dir := mk(t)
			src := filepath.Join(dir, "src")
			require.NoError(t, fs.MkdirAll(filepath.Join(src, "sub")))
			require.NoError(t, writeFile(t, fs, filepath.Join(src, "a"), "A", true).Close())
			require.NoError(t, writeFile(t, fs, filepath.Join(src, "sub", "b"), "B", true).Close())
			require.NoError(t, fs.SyncDir(src))
			require.NoError(t, fs.SyncDir(filepath.Join(src, "sub")))

			full := filepath.Join(dir, "full")
			require.NoError(t, fs.MkdirAll(full))
			require.NoError(t, writeFile(t, fs, filepath.Join(full, "x"), "x", true).Close())
			err := fs.Rename(src, full)
			require.ErrorIs(t, err, os.ErrExist, "onto a directory that holds a file")
			require.Equal(t, "x", readAll(t, fs, filepath.Join(full, "x")))

			empty := filepath.Join(dir, "empty")
			require.NoError(t, fs.MkdirAll(empty))
			require.ErrorIs(t, fs.Rename(src, empty), os.ErrExist, "onto an empty directory (os.Rename refuses any directory)")
			require.NoError(t, fs.Remove(empty))
			require.NoError(t, fs.Rename(src, empty))
			require.Equal(t, "A", readAll(t, fs, filepath.Join(empty, "a")))
			require.Equal(t, "B", readAll(t, fs, filepath.Join(empty, "sub", "b")))
			_, err = fs.List(src)
			require.ErrorIs(t, err, os.ErrNotExist)

			dst := filepath.Join(dir, "dst")
			require.NoError(t, fs.Rename(empty, dst), "onto a missing name")
			names, err := fs.List(dst)
			require.NoError(t, err)
			require.Equal(t, []string{"a", "sub"}, names)
			root, err := fs.List(dir)
			require.NoError(t, err)
			require.Equal(t, []string{"dst", "full"}, root)
			require.Error(t, fs.Rename(dst, filepath.Join(dst, "sub", "in")), "into itself")
			if m, ok := fs.(*Mem); ok {
				c := m.CrashClone(0)
				require.Equal(t, "A", readAll(t, c, filepath.Join(src, "a")), "renames undone: the parent is not synced")
				_, err := c.List(dst)
				require.Error(t, err)
				require.NoError(t, m.SyncDir(dir))
				c = m.CrashClone(0)
				require.Equal(t, "A", readAll(t, c, filepath.Join(dst, "a")))
				require.Equal(t, "B", readAll(t, c, filepath.Join(dst, "sub", "b")))
				_, err = c.List(src)
				require.Error(t, err)
			}
		})
	}
}

// A directory removed and made again under the same name is a new,
// empty directory: a crash image holds none of the old one's files, even
// those whose removal was never synced.
func TestMemRemovedDirStaysEmptyAfterCrash(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d/x"))
	require.NoError(t, writeFile(t, m, "/d/x/f", "f", true).Close())
	require.NoError(t, m.SyncDir("/d/x"))
	require.NoError(t, m.Remove("/d/x/f"))
	require.NoError(t, m.Remove("/d/x"))
	require.NoError(t, m.MkdirAll("/d/x"))
	names, err := m.CrashClone(0).List("/d/x")
	require.NoError(t, err)
	require.Empty(t, names)
}
