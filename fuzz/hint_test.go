package fuzz

import (
	"encoding/binary"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/strata-kv/strata/segment"
)

// FuzzHintDecode gives any bytes, with their checksum fixed up so that
// the records are what gets tested, to the hint reader. It must not
// panic; every record it accepts must be within the header's ranges and
// in order, and the accepted records must encode to a hint that reads
// back the same.
func FuzzHintDecode(f *testing.F) {
	hd := segment.HintHeader{Segment: 3, Salt: 99, Size: 4096, Base: 10, Last: 40}
	f.Add(segment.EncodeHint(hd, nil))
	f.Add(segment.EncodeHint(hd, []segment.HintEntry{
		{Run: []byte("r"), Key: []byte("apple"), Version: 10, Timestamp: 5, Offset: 100, Len: 7, Op: segment.OpPut},
		{Run: []byte("r"), Key: []byte("apple"), Version: 30, Timestamp: 9, Offset: 200, Op: segment.OpDelete},
		{Run: []byte("r"), Key: []byte("apply"), Version: 12, Timestamp: 6, Offset: 300, Len: 9, Op: segment.OpPut, Codec: segment.CodecS2},
		{Run: []byte("s"), Key: []byte("a"), Version: 40, Timestamp: 2, Offset: 400, Len: 1, Op: segment.OpPut},
	}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) >= 8 {
			end := len(b) - 8
			binary.LittleEndian.PutUint64(b[end:], xxhash.Sum64(b[:end]))
		}
		r, err := segment.NewHintReader(b)
		if err != nil {
			return
		}
		hd := r.Header()
		var got []segment.HintEntry
		for {
			e, ok, err := r.Next()
			if err != nil {
				return
			}
			if !ok {
				break
			}
			if e.Version < hd.Base || e.Version > hd.Last || e.Offset < segment.HeaderSize || e.Offset+int64(e.Len) > hd.Size {
				t.Fatalf("record out of range: %+v, header %+v", e, hd)
			}
			c := *e
			c.Run, c.Key = append([]byte(nil), e.Run...), append([]byte(nil), e.Key...)
			if n := len(got); n > 0 && got[n-1].Compare(&c) >= 0 {
				t.Fatalf("records out of order: %+v then %+v", got[n-1], c)
			}
			got = append(got, c)
		}
		r2, err := segment.NewHintReader(segment.EncodeHint(hd, got))
		if err != nil {
			t.Fatalf("re-encoded hint: %v", err)
		}
		for i := range got {
			e, ok, err := r2.Next()
			if err != nil || !ok || e.Compare(&got[i]) != 0 || e.Offset != got[i].Offset || e.Len != got[i].Len ||
				e.Timestamp != got[i].Timestamp || e.Op != got[i].Op || e.Codec != got[i].Codec {
				t.Fatalf("record %d reads back as %+v (%v), want %+v", i, e, err, got[i])
			}
		}
	})
}
