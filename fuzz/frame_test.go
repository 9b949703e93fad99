package fuzz

import (
	"bytes"
	"io"
	"math"
	"testing"

	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

// frameHeader is the fixed segment header the frame fuzzer decodes under.
var frameHeader = segment.Header{ID: 1, Salt: 0x5eed5a17c0ffee00, BaseVersion: 40, BaseTime: 1_700_000_000_000_000}

// sampleFrames returns frame bytes (to follow frameHeader) built by the
// encoder: a put, a batch with a compressed value and a tombstone, a
// commit referring to runs named before, and a sync marker.
func sampleFrames() []byte {
	enc := segment.NewEncoder(frameHeader)
	data := frameHeader.Encode()
	add := func(synced int64, ts int64, ents ...segment.EntrySpec) {
		data, _, _ = enc.AppendCommit(data, int64(len(data)), synced, enc.Next(), ts, ents, nil)
	}
	big, codec := segment.Compress(nil, bytes.Repeat([]byte("compress me "), 20))
	add(segment.HeaderSize, frameHeader.BaseTime+5, segment.EntrySpec{Op: segment.OpPut, Run: "run", Key: "key", Value: []byte("value")})
	add(int64(len(data)), frameHeader.BaseTime+9,
		segment.EntrySpec{Op: segment.OpPut, Codec: codec, Run: "r", Key: "a", Value: big},
		segment.EntrySpec{Op: segment.OpDelete, Run: "run", Key: "b"})
	add(int64(len(data)), frameHeader.BaseTime+9, segment.EntrySpec{Op: segment.OpPut, Run: "r", Key: "c", Value: nil})
	data, _, _ = enc.AppendMarker(data, int64(len(data)), int64(len(data)))
	return data[segment.HeaderSize:]
}

// FuzzFrameDecode gives any bytes, after a fixed segment header, to the
// scanner. It must not panic, and every frame it accepts must re-encode,
// by an encoder following the same frames, to the same bytes. An input
// starting with 0xff is instead wrapped as the entries of one frame with
// a correct head and checksum (its second byte the entry count), so the
// fuzzer reaches the entry parser without having to forge checksums.
func FuzzFrameDecode(f *testing.F) {
	frames := sampleFrames()
	f.Add(frames)
	f.Add(frames[:len(frames)-1])
	f.Add([]byte{})
	f.Add([]byte{0xff, 1, 0x11, 1, 'r', 1, 'k', 1, 'v'})
	f.Add([]byte{0xff, 2, 0x12, 1, 'r', 1, 'k', 0x21, 1, 'j', 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		seg := frameHeader.Encode()
		if len(data) > 1 && data[0] == 0xff {
			seg = segment.WrapEntries(seg, frameHeader, 0, 3, 0, uint64(data[1]), data[2:])
		} else {
			seg = append(seg, data...)
		}
		seg = seg[:len(seg):len(seg)] // no spare capacity to read into
		sc, err := segment.NewScanner(seg)
		if err != nil {
			t.Fatal(err)
		}
		enc := segment.NewEncoder(frameHeader)
		for {
			fr, err := sc.Next()
			if err != nil {
				if err != io.EOF && sc.Offset() >= int64(len(seg)) {
					t.Fatalf("an error at the end of the data: %v", err)
				}
				// The searches past damage must not panic either.
				sc.SyncProof()
				sc.Survey()
				return
			}
			if fr.Offset+int64(fr.Size) > int64(len(seg)) {
				t.Fatalf("frame of %d bytes at %d from %d bytes", fr.Size, fr.Offset, len(seg))
			}
			var again []byte
			if fr.Marker() {
				var ok bool
				again, ok, err = enc.AppendMarker(nil, fr.Offset, fr.Synced)
				if err == nil && !ok {
					t.Fatalf("an accepted marker claims nothing new")
				}
			} else {
				var ents []segment.EntrySpec
				err = fr.Entries(func(e segment.Entry) error {
					if e.ValueOffset+len(e.Value) > fr.Size {
						t.Fatalf("value at %d+%d outside the frame of %d", e.ValueOffset, len(e.Value), fr.Size)
					}
					ents = append(ents, segment.EntrySpec{Op: e.Op, Codec: e.Codec, Run: string(e.Run), Key: string(e.Key), Value: e.Value})
					// Decoding the value must fail cleanly or work; never panic.
					if raw, err := segment.DecodeValue(e.Codec, e.Value); err == nil {
						var v kv.Value
						_ = v.UnmarshalBinary(raw)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				again, _, err = enc.AppendCommit(nil, fr.Offset, fr.Synced, fr.Version, fr.Timestamp, ents, nil)
			}
			if err != nil {
				t.Fatalf("an accepted frame does not encode: %v", err)
			}
			if !bytes.Equal(again, fr.Bytes()) {
				t.Fatalf("accepted frame does not re-encode to its bytes:\n%x\n%x", fr.Bytes(), again)
			}
		}
	})
}

func FuzzValueDecode(f *testing.F) {
	for _, v := range []kv.Value{
		kv.Null(), kv.Bool(true), kv.Int(-5), kv.Float(math.Copysign(0, -1)), kv.String("s"), kv.Bytes([]byte{0}),
		kv.Array(kv.Int(1), kv.Array()), kv.Object(map[string]kv.Value{"a": kv.Null(), "b": kv.Object(nil)}),
	} {
		b, err := v.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v kv.Value
		if err := v.UnmarshalBinary(data); err != nil {
			return
		}
		again, err := v.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("value %v re-encodes differently:\n%x\n%x", v, data, again)
		}
		var w kv.Value
		if err := w.UnmarshalBinary(again); err != nil {
			t.Fatal(err)
		}
		if !sameValue(v, w) {
			t.Fatalf("round trip changed %v into %v", v, w)
		}
	})
}

// sameValue is Equal, except that floats compare bit for bit (so NaN
// equals itself) as a round trip must keep them.
func sameValue(a, b kv.Value) bool {
	ab, err1 := a.MarshalBinary()
	bb, err2 := b.MarshalBinary()
	return err1 == nil && err2 == nil && bytes.Equal(ab, bb) && a.Kind() == b.Kind()
}
