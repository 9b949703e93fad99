package segment

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// A Compressor stores every value so that DecodeValue gives it back. A
// stream of incompressible values makes it skip: it then tries one value
// in tryEvery, and a value tried that compresses brings it back to
// trying every value. Mixes where one value in 50 or more compresses,
// spread evenly, have every value tried.
func TestCompressorSkipsWhatDoesNotCompress(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := func() []byte { return randomBytes(r, 100) }
	text := bytes.Repeat([]byte("compressible "), 10)
	roundTrip := func(c *Compressor, v []byte) uint8 {
		stored, codec := c.Compress(nil, v)
		got, err := DecodeValue(codec, stored)
		require.NoError(t, err)
		require.Equal(t, v, got)
		return codec
	}

	var c Compressor
	require.Equal(t, CodecS2, roundTrip(&c, text), "a fresh Compressor tries every value")
	for range 10000 {
		require.Equal(t, CodecRaw, roundTrip(&c, random()))
	}
	// Now one value in tryEvery is tried: of tryEvery compressible values
	// in a row exactly one compresses, and from then on every one does.
	tried := -1
	for i := range tryEvery {
		if roundTrip(&c, text) == CodecS2 {
			tried = i
			break
		}
	}
	require.Greater(t, tried, 0, "the first value after the misses was tried, or none in %d was", tryEvery)
	for range 20 {
		require.Equal(t, CodecS2, roundTrip(&c, text))
	}
	// Values under compressMin are never tried and change nothing.
	require.Equal(t, CodecRaw, roundTrip(&c, text[:compressMin-1]))
	require.Equal(t, CodecS2, roundTrip(&c, text))

	// Mixes: one value in 50 compressible, in runs of random ones of any
	// length, has every compressible value compressed.
	for range 50000 {
		if r.IntN(50) == 0 {
			require.Equal(t, CodecS2, roundTrip(&c, text))
		} else {
			require.Equal(t, CodecRaw, roundTrip(&c, random()))
		}
	}
}

// randomBytes returns n random bytes: a value that does not compress.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Concurrent use (run under -race in CI).
func TestCompressorConcurrent(t *testing.T) {
	var c Compressor
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for i := range 2000 {
				v := bytes.Repeat([]byte{byte(i)}, 100)
				if i%3 != 0 {
					for j := range v {
						v[j] = byte(r.Uint32())
					}
				}
				stored, codec := c.Compress(nil, v)
				got, err := DecodeValue(codec, stored)
				if err != nil || !bytes.Equal(got, v) {
					t.Errorf("value %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
