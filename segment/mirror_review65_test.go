package segment

import (
	"fmt"
	"testing"

	"github.com/strata-kv/strata/internal/vfs"
)

// Review 65. eff0f4d: a Writer without a mapping (every InMemory
// database, and disk databases where MapShared is missing) keeps Frames'
// copy of the flushed bytes in w.mirror. Seal hands the bytes to the
// Sealed, whose view Frames then returns, and Close ends the Writer, but
// neither drops the mirror: a Writer still held (by a reader's table,
// which Seal's doc says must keep it alive) pins a second full copy of
// the segment, up to SegmentSize, that nothing reads again.
func TestReview65MirrorKeptAfterSealAndClose(t *testing.T) {
	for _, end := range []string{"seal", "close"} {
		t.Run(end, func(t *testing.T) {
			fs := vfs.NewMem()
			if err := fs.MkdirAll("/db"); err != nil {
				t.Fatal(err)
			}
			w, err := Create(fs, "/db", 1, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			for v := uint64(1); v <= 200; v++ {
				if _, _, err := w.AppendCommit(v, int64(v), []EntrySpec{put("r", fmt.Sprintf("k%d", v), "some value bytes")}, nil); err != nil {
					t.Fatal(err)
				}
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := w.Frames(); err != nil {
				t.Fatal(err)
			}
			switch end {
			case "seal":
				s, err := w.Seal(fs)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				b, err := w.Frames()
				if err != nil || len(b) != len(s.Bytes()) {
					t.Fatalf("Frames after Seal: %d bytes, %v", len(b), err)
				}
			case "close":
				if err := w.Close(true); err != nil {
					t.Fatal(err)
				}
			}
			if n := cap(w.mirror); n > 0 {
				t.Errorf("after %s the Writer still holds a %d-byte copy of the segment (w.mirror), which nothing reads again", end, n)
			}
		})
	}
}
