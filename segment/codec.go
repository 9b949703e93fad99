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

// Compressor is Compress that learns when not to try. It keeps a moving
// average of the share of the values it tried that compressed (each
// value tried weighs 1/1024); while that share is under 1/256 it tries
// one value in tryEvery and stores the others raw, and any value tried
// that compresses lifts the share to 1/64 at least. A store of
// incompressible values (already compressed, encrypted, random) so stops
// paying for an S2 encoding per value that it throws away (about 120 ns
// of a 100-byte value's put), after about 4,600 of them in a row. Where
// compressible values are spread evenly, at least one in 50 has every
// value tried (simulated over 200,000 values: none stored raw at one in
// 50, 2% of them at one in 100, most at one in 400: few bytes, since such
// values are few). Where they come in bursts after runs of thousands of
// incompressible values, each burst's first values, before the first one
// tried (at most tryEvery-1), are stored raw. Its zero value is ready; it
// is safe for concurrent use (concurrent updates of the average may lose
// one another, which only delays it).
type Compressor struct {
	// share is 65535 minus the average share of values that compressed,
	// in 1/65536ths: zero, the zero value, means all of them did.
	share atomic.Uint32
	skips atomic.Uint32 // values seen while skipping
}

const (
	shareOne   = 1 << 16
	shareShift = 10             // each value tried moves the average by 1/1024 of the way
	shareSkip  = shareOne / 256 // skip while fewer than this compress
	shareBack  = 4 * shareSkip  // the least share after a value tried compressed
	tryEvery   = 16             // while skipping, one value in tryEvery is tried
)

// Compress is the package's Compress, but for the values it skips (see
// Compressor), which it stores raw.
func (c *Compressor) Compress(dst, v []byte) ([]byte, uint8) {
	if len(v) < compressMin {
		return append(dst, v...), CodecRaw
	}
	share := shareOne - 1 - int(c.share.Load())
	if share < shareSkip && c.skips.Add(1)%tryEvery != 0 {
		return append(dst, v...), CodecRaw
	}
	out, codec := Compress(dst, v)
	target := 0
	if codec != CodecRaw {
		target = shareOne - 1
	}
	share += (target - share) >> shareShift
	if codec != CodecRaw && share < shareBack {
		share = shareBack
	}
	c.share.Store(uint32(shareOne - 1 - share))
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
