package vfs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// WriteAt writes where it is told in a file opened for appending (where
// Linux's pwrite would append), the mapping sees the bytes at once, and
// before MapShared it refuses.
func TestWriteAtOfAppendingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte("0123456789"), 0o600))
	f, err := Default.OpenRW(path)
	require.NoError(t, err)
	sm := f.(SharedMapper)
	_, err = sm.WriteAt([]byte("x"), 1)
	require.Error(t, err, "not mapped yet")

	m, err := sm.MapShared(1 << 16)
	require.NoError(t, err)
	n, err := sm.WriteAt([]byte("abc"), 2)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, "01abc56789", string(m.Bytes()[:10]))
	n, err = sm.WriteAt([]byte("zz"), 20)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, "zz", string(m.Bytes()[20:22]))
	_, err = f.Write([]byte("!")) // appends: past the reserved 64 KiB
	require.NoError(t, err)
	require.NoError(t, m.Close())
	require.NoError(t, f.Close())

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Len(t, b, 1<<16+1)
	require.Equal(t, "01abc56789", string(b[:10]))
	require.Equal(t, "zz", string(b[20:22]))
	require.Equal(t, byte('!'), b[1<<16])
}
