package fuzz

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/strata-kv/strata/segment"
)

// FuzzManifestDecode gives any bytes to the manifest decoder. It must not
// panic, and a manifest it accepts must encode back to the same bytes (a
// version 2 one; a version 1 one is written as version 2, which decodes
// to the same manifest), hold a Vanished at most its Trimmed and list
// segments that cover versions from 1 on without a gap.
func FuzzManifestDecode(f *testing.F) {
	f.Add((&segment.Manifest{Active: 1}).Encode())
	f.Add((&segment.Manifest{Generation: 3, Active: 9, Trimmed: 12, Vanished: 5, Segments: []segment.SegmentInfo{
		{ID: 2, Base: 1, Last: 10, Size: 4096}, {ID: 8, Base: 11, Last: 40, Size: 100},
	}}).Encode())
	f.Add([]byte("STRATA\x00M"))
	v1 := (&segment.Manifest{Generation: 2, Active: 3, Trimmed: 7, Vanished: 7}).Encode()
	binary.LittleEndian.PutUint32(v1[8:], 1)
	binary.LittleEndian.PutUint64(v1[len(v1)-8:], xxhash.Sum64(v1[:len(v1)-8]))
	f.Add(v1)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := segment.DecodeManifest(b)
		if err != nil {
			return
		}
		if binary.LittleEndian.Uint32(b[8:]) == 2 && !bytes.Equal(m.Encode(), b) {
			t.Fatalf("accepted bytes re-encode differently")
		}
		if again, err := segment.DecodeManifest(m.Encode()); err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoded manifest decodes to %+v, %v; want %+v", again, err, m)
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
