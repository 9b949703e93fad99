package segment

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/stretchr/testify/require"
)

// Commits below and above writeAtMin, mixed, through a mapped writer
// (copies and WriteAt) read back before and after Seal, and leave the
// same frames as a writer that uses write(2) for all.
func TestMappedWriterWritesLongCommitsAtOffsets(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shared mappings are used on Linux only")
	}
	rng := rand.New(rand.NewPCG(3, 8))
	dir, plainDir := t.TempDir(), t.TempDir()
	w, err := Create(vfs.Default, dir, 1, 1, 100)
	require.NoError(t, err)
	require.True(t, w.MapWrites(64<<10)) // small: long commits grow the mapping too
	plain, err := Create(hideShared{vfs.Default}, plainDir, 1, 1, 100)
	require.NoError(t, err)
	require.False(t, plain.MapWrites(64<<10))

	type put struct {
		off int64
		val []byte
	}
	var puts []put
	sizes := []int{1, 100, writeAtMin - 40, writeAtMin, writeAtMin + 1, 3000, 5000, 70000, 10}
	for v := uint64(1); v <= 200; v++ {
		n := sizes[rng.IntN(len(sizes))]
		val := make([]byte, n)
		for i := range val {
			val[i] = byte(rng.Uint32())
		}
		spec := []EntrySpec{{Op: OpPut, Run: "r", Key: "k", Value: val}}
		_, offs, err := w.AppendCommit(v, 100+int64(v), spec, nil)
		require.NoError(t, err)
		require.NoError(t, w.Flush())
		_, _, err = plain.AppendCommit(v, 100+int64(v), spec, nil)
		require.NoError(t, err)
		require.NoError(t, plain.Flush())
		got, err := w.ReadAt(offs[0], n)
		require.NoError(t, err)
		require.True(t, bytes.Equal(val, got), "commit %d of %d bytes, read back at once", v, n)
		puts = append(puts, put{offs[0], val})
	}
	for i, p := range puts { // earlier commits, after later ones grew the mapping
		got, err := w.ReadAt(p.off, len(p.val))
		require.NoError(t, err)
		require.True(t, bytes.Equal(p.val, got), "commit %d", i+1)
	}
	s, err := w.Seal(vfs.Default)
	require.NoError(t, err)
	defer s.Close()
	ps, err := plain.Seal(hideShared{vfs.Default})
	require.NoError(t, err)
	defer ps.Close()
	for i, p := range puts {
		require.True(t, bytes.Equal(p.val, s.Bytes()[p.off:p.off+int64(len(p.val))]), "commit %d, sealed", i+1)
	}
	// Every frame verifies, and the file is as long as the write(2)
	// writer's (the salts, and so the frames' tags and checksums, differ).
	want := make([]uint64, len(puts))
	for i := range want {
		want[i] = uint64(i + 1)
	}
	require.Equal(t, want, commitsIn(t, s))
	require.Equal(t, want, commitsIn(t, ps))
	a, err := os.Stat(filepath.Join(dir, FileName(1)))
	require.NoError(t, err)
	b, err := os.Stat(filepath.Join(plainDir, FileName(1)))
	require.NoError(t, err)
	require.Equal(t, b.Size(), a.Size())
}

// hideShared is the OS file system with its files' shared mappings
// hidden: segments are written with write(2).
type hideShared struct{ vfs.FS }

func (h hideShared) Create(name string) (vfs.File, error) {
	f, err := h.FS.Create(name)
	return plainFile{f}, err
}

func (h hideShared) OpenRW(name string) (vfs.File, error) {
	f, err := h.FS.OpenRW(name)
	return plainFile{f}, err
}

type plainFile struct{ vfs.File }
