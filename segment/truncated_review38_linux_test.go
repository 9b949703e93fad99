package segment

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/stretchr/testify/require"
)

// copyOut says: "A file cut under the mapping (by another process) ...
// faults here: fail the write instead of the process." A small group
// copied into the mapping did; with SyncEachFlush (review 38) the same
// small group went by pwrite, which silently extended the cut file with
// a hole, the Flush succeeded (and the Sync after it), and flushed
// commits beyond the cut then read back through the mapping as zeros
// without any error. A long group (writeAtMin) went by pwrite before
// SyncEachFlush, with the same gap. Fixed: copyOut loads the range's
// last byte through the mapping before a pwrite, which faults as the
// copy does.
func TestReview38SyncEachFlushWriteIntoCutFileSucceeds(t *testing.T) {
	for _, c := range []struct {
		name     string
		syncEach bool
		size     int
	}{{"copy", false, 300}, {"syncEach", true, 300}, {"long", false, writeAtMin + 100}} {
		syncEach := c.syncEach
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Create(vfs.Default, dir, 1, 1, 100)
			require.NoError(t, err)
			defer w.Close(false)
			require.True(t, w.MapWrites(64<<10))
			if syncEach {
				w.SyncEachFlush()
			}
			type put struct {
				off int64
				val []byte
			}
			var puts []put
			v := uint64(1)
			for ; w.Flushed() < 3*4096; v++ {
				val := bytes.Repeat([]byte{byte(v)}, c.size)
				_, o, err := w.AppendCommit(v, 100+int64(v), []EntrySpec{{Op: OpPut, Run: "r", Key: "k", Value: val}}, nil)
				require.NoError(t, err)
				require.NoError(t, w.Flush())
				require.NoError(t, w.Sync())
				puts = append(puts, put{o[0], val})
			}
			// Another process cuts the file to its first page.
			require.NoError(t, os.Truncate(filepath.Join(dir, FileName(1)), 4096))

			_, _, err = w.AppendCommit(v, 100+int64(v), []EntrySpec{{Op: OpPut, Run: "r", Key: "k", Value: bytes.Repeat([]byte("after the cut"), c.size/13)}}, nil)
			require.NoError(t, err)
			ferr := w.Flush()
			if ferr == nil {
				ferr = w.Sync()
			}
			if ferr == nil {
				// The commit was "durable"; what do readers get now for
				// the commits past the cut?
				for _, p := range puts {
					if p.off < 4096 {
						continue
					}
					got, err := w.ReadAt(p.off, len(p.val))
					require.NoError(t, err)
					if !bytes.Equal(p.val, got) {
						t.Errorf("commit at %d reads back %x... without an error after a flush into the cut file succeeded", p.off, got[:8])
						break
					}
				}
			}
			require.Error(t, ferr, "a group written into a file cut under the mapping must fail, as copyOut promises")
		})
	}
}
