package segment

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// jsonLike returns n bytes of JSON-ish text with the repetition of real
// agent state: field names repeat, numbers and words vary.
func jsonLike(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"alpha", "tool_call", "observation", "result", "pending", "ok", "error", "retry"}
	var b []byte
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, `{"step":%d,"status":%q,"score":%.4f,"msg":%q},`, i, words[r.IntN(len(words))], r.Float64(), words[r.IntN(len(words))]+" "+words[r.IntN(len(words))])
	}
	return b[:n]
}

// BenchmarkCodecs compares S2 and zstd on one value at a time, the way the
// commit path uses them. Its figures are quoted in the package doc.
func BenchmarkCodecs(b *testing.B) {
	v := jsonLike(1024)
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	dec, _ := zstd.NewReader(nil)
	sc := s2.Encode(nil, v)
	zc := enc.EncodeAll(v, nil)
	b.Run("s2/encode", func(b *testing.B) {
		b.SetBytes(int64(len(v)))
		for b.Loop() {
			s2.Encode(nil, v)
		}
		b.ReportMetric(float64(len(sc))/float64(len(v)), "ratio")
	})
	b.Run("s2/decode", func(b *testing.B) {
		b.SetBytes(int64(len(v)))
		for b.Loop() {
			s2.Decode(nil, sc)
		}
	})
	b.Run("zstd/encode", func(b *testing.B) {
		b.SetBytes(int64(len(v)))
		for b.Loop() {
			enc.EncodeAll(v, nil)
		}
		b.ReportMetric(float64(len(zc))/float64(len(v)), "ratio")
	})
	b.Run("zstd/decode", func(b *testing.B) {
		b.SetBytes(int64(len(v)))
		for b.Loop() {
			dec.DecodeAll(zc, nil)
		}
	})
}
