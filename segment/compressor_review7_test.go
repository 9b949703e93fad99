package segment

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// The Compressor's doc says a store "of a mix, loses nothing" (and the
// commit: "a mix that compresses now and then is tried in full"). In a
// mix where one value in five compresses (already-compressed blobs beside
// JSON documents, say), runs of maxMisses incompressible values are
// common, and each puts the Compressor into trying 1 value in 16; a
// compressible value is then stored raw, and it stays there until a
// tried value compresses (1 chance in 5 each 16 values). Most of the
// compressible values are stored raw, which Compress would have
// compressed.
func TestReview7CompressorMixLosesCompressibleValues(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var c Compressor
	compressible, lost := 0, 0
	var plainBytes, compBytes int
	for i := range 10000 {
		v := randomBytes(r, 200)
		if r.IntN(5) == 0 {
			copy(v, bytes.Repeat([]byte(fmt.Sprintf(`{"id":%d,"name":"x"}`, i)), 20))
			compressible++
		}
		p, pc := Compress(nil, v)
		s, sc := c.Compress(nil, v)
		plainBytes += len(p)
		compBytes += len(s)
		if pc == CodecS2 && sc == CodecRaw {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d compressible values stored raw (Compress compresses them all); stored %d bytes against %d (+%.1f%%)",
			lost, compressible, compBytes, plainBytes, 100*float64(compBytes-plainBytes)/float64(plainBytes))
	}
}
