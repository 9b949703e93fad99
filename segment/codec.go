package segment

import (
	"fmt"

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

// compressValue returns the S2 encoding of v when it saves at least an
// eighth of v's size.
func compressValue(v []byte) ([]byte, bool) {
	if len(v) < compressMin {
		return nil, false
	}
	if s2.MaxEncodedLen(len(v)) < 0 {
		return nil, false
	}
	c := s2.Encode(nil, v)
	if len(c) > len(v)-len(v)/8 {
		return nil, false
	}
	return c, true
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
