package fuzz

import (
	"bytes"
	"math"
	"testing"

	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

func sampleFrames() [][]byte {
	var out [][]byte
	blob, _ := segment.AppendEntry(nil, segment.KindPut, "run", "key", []byte("value"), false)
	out = append(out, segment.AppendFrame(nil, 1, 1700000000000000, 1, blob))
	blob, _ = segment.AppendEntry(nil, segment.KindPut, "r", "a", bytes.Repeat([]byte("compress me "), 20), true)
	blob, _ = segment.AppendEntry(blob, segment.KindTombstone, "r", "b", nil, false)
	out = append(out, segment.AppendFrame(nil, 42, 5, 2, blob))
	return out
}

func FuzzFrameDecode(f *testing.F) {
	for _, fr := range sampleFrames() {
		f.Add(fr)
		f.Add(fr[:len(fr)-1])
	}
	f.Add([]byte{})
	for _, fr := range sampleFrames() {
		f.Add(append([]byte{0xff}, fr[segment.FrameHeaderSize:]...)) // as a body to wrap
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 && data[0] == 0xff {
			// Wrap the rest as a frame body with a correct length and
			// checksum, so the fuzzer reaches the entry parser instead of
			// stopping at the checksum.
			data = segment.WrapBody(data[1:])
		}
		data = data[:len(data):len(data)] // no spare capacity to read into
		fr, err := segment.DecodeFrame(data)
		if err != nil {
			return
		}
		if fr.Size > len(data) {
			t.Fatalf("frame of %d bytes from %d bytes", fr.Size, len(data))
		}
		var blob []byte
		err = fr.Entries(func(e segment.Entry) error {
			if e.ValueOffset+len(e.Value) > fr.Size {
				t.Fatalf("value at %d+%d outside the frame of %d", e.ValueOffset, len(e.Value), fr.Size)
			}
			blob, _ = segment.AppendStoredEntry(blob, e.Kind, e.Codec, string(e.Run), string(e.Key), e.Value)
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
		again := segment.AppendFrame(nil, fr.Version, fr.Timestamp, fr.Count, blob)
		if !bytes.Equal(again, data[:fr.Size]) {
			t.Fatalf("accepted frame does not re-encode to its bytes:\n%x\n%x", data[:fr.Size], again)
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
