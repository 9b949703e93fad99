package vfs

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Op.Offset of a write is documented as "where a write starts in the
// file (a write appends: at the file's size)". ErrorFS counts it per
// handle, so a write through one handle after another handle grew (or
// cut) the file is reported at the wrong offset.
func TestReviewErrorFSWriteOffsetIsFileSize(t *testing.T) {
	m := NewMem()
	require.NoError(t, m.MkdirAll("/d"))
	e := NewErrorFS(m, -1, false)
	var writes []Op
	e.SetAfter(func(op Op) {
		if op.Kind == OpWrite {
			writes = append(writes, op)
		}
	})
	f, err := e.Create("/d/a")
	require.NoError(t, err)
	_, err = f.Write([]byte("abc"))
	require.NoError(t, err)
	g, err := e.OpenRW("/d/a") // appends at 3
	require.NoError(t, err)
	_, err = f.Write([]byte("d")) // lands at 3
	require.NoError(t, err)
	_, err = g.Write([]byte("e")) // lands at 4: the file's size
	require.NoError(t, err)
	require.NoError(t, g.Truncate(1))
	_, err = f.Write([]byte("f")) // lands at 1 (Mem appends at the end)
	require.NoError(t, err)
	b := make([]byte, 2)
	_, err = f.ReadAt(b, 0)
	require.NoError(t, err)
	require.Equal(t, "af", string(b), "where the bytes really went")
	got := []int64{}
	for _, w := range writes {
		got = append(got, w.Offset)
	}
	require.Equal(t, []int64{0, 3, 4, 1}, got, "Op.Offset of each write")
	require.NoError(t, f.Close())
	require.NoError(t, g.Close())
}
