package segment

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/s2"
)

const (
	// compressMin is the smallest value worth trying to compress: below
	// it the S2 block overhead eats the gain.
	compressMin = 64
	// maxDecoded bounds what a stored value may claim to decode to, so a
	// damaged length cannot make a read allocate without limit.
	maxDecoded = 1 << 30
)

// scratch holds buffers for compression output, which is copied out
// right away.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled is the largest scratch buffer kept for reuse.
const maxPooled = 1 << 20

// Compress appends the stored form of value bytes v to dst and returns it
// with its codec: the S2 encoding when v has at least compressMin bytes
// and that saves at least an eighth of its size, else v itself (CodecRaw).
func Compress(dst, v []byte) ([]byte, uint8) {
	if len(v) < compressMin || s2.MaxEncodedLen(len(v)) < 0 {
		return append(dst, v...), CodecRaw
	}
	buf := scratch.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooled {
			scratch.Put(buf)
		}
	}()
	c := s2.Encode((*buf)[:cap(*buf)], v)
	*buf = c[:0]
	if len(c) > len(v)-len(v)/8 {
		return append(dst, v...), CodecRaw
	}
	return append(dst, c...), CodecS2
}

// Compressor is Compress that learns when not to try: after maxMisses
// values in a row that did not compress, it tries one value in tryEvery
// and stores the others raw, until one tried compresses again. A store of
// incompressible values (already compressed, encrypted, random) so stops
// paying for an S2 encoding per value that it throws away (about 120 ns
// of a 100-byte value's put), and a store of compressible ones, or of a
// mix, loses nothing. Its zero value is ready; it is safe for concurrent
// use.
type Compressor struct {
	misses atomic.Uint32 // values in a row that did not compress, at most maxMisses
	skips  atomic.Uint32 // values seen at maxMisses
}

const (
	maxMisses = 4
	tryEvery  = 16
)

// Compress is the package's Compress, but for the values it skips (see
// Compressor), which it stores raw.
func (c *Compressor) Compress(dst, v []byte) ([]byte, uint8) {
	if len(v) < compressMin {
		return append(dst, v...), CodecRaw
	}
	m := c.misses.Load()
	if m >= maxMisses && c.skips.Add(1)%tryEvery != 0 {
		return append(dst, v...), CodecRaw
	}
	out, codec := Compress(dst, v)
	switch {
	case codec == CodecRaw && m < maxMisses:
		c.misses.Store(m + 1)
	case codec != CodecRaw && m != 0:
		c.misses.Store(0)
	}
	return out, codec
}

// DecodeValue returns the value bytes of a stored value. For CodecRaw it
// returns stored itself (which may be a slice of a mapping: copy it if it
// must outlive the mapping); otherwise newly allocated bytes.
func DecodeValue(codec uint8, stored []byte) ([]byte, error) {
	switch codec {
	case CodecRaw:
		return stored, nil
	case CodecS2:
		n, err := s2.DecodedLen(stored)
		if err != nil {
			return nil, fmt.Errorf("%w: s2 value: %v", ErrMalformed, err)
		}
		if n > maxDecoded {
			return nil, fmt.Errorf("%w: s2 value claims %d bytes", ErrMalformed, n)
		}
		out, err := s2.Decode(make([]byte, n), stored)
		if err != nil {
			return nil, fmt.Errorf("%w: s2 value: %v", ErrMalformed, err)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: codec %d", ErrMalformed, codec)
	}
}

// DecodedLen returns the length a stored value decodes to.
func DecodedLen(codec uint8, stored []byte) (int, error) {
	switch codec {
	case CodecRaw:
		return len(stored), nil
	case CodecS2:
		n, err := s2.DecodedLen(stored)
		if err != nil {
			return 0, fmt.Errorf("%w: s2 value: %v", ErrMalformed, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: codec %d", ErrMalformed, codec)
}
