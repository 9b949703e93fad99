package fuzz

import (
	"bytes"
	"testing"

	"github.com/strata-kv/strata/segment"
)

// FuzzManifestDecode gives any bytes to the manifest decoder. It must not
// panic, and a manifest it accepts must encode back to the same bytes,
// hold a Vanished at most its Trimmed and list segments that cover
// versions from 1 on without a gap.
func FuzzManifestDecode(f *testing.F) {
	f.Add((&segment.Manifest{Active: 1}).Encode())
	f.Add((&segment.Manifest{Generation: 3, Active: 9, Trimmed: 12, Vanished: 5, Segments: []segment.SegmentInfo{
		{ID: 2, Base: 1, Last: 10, Size: 4096}, {ID: 8, Base: 11, Last: 40, Size: 100},
	}}).Encode())
	f.Add([]byte("STRATA\x00M"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := segment.DecodeManifest(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Encode(), b) {
			t.Fatalf("accepted bytes re-encode differently")
		}
		if m.Vanished > m.Trimmed {
			t.Fatalf("vanished %d above trimmed %d", m.Vanished, m.Trimmed)
		}
		next := uint64(1)
		for _, s := range m.Segments {
			if s.Base != next || s.Last < s.Base {
				t.Fatalf("segment %d covers %d..%d where %d comes next", s.ID, s.Base, s.Last, next)
			}
			next = s.Last + 1
		}
	})
}
