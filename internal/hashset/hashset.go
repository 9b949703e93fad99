// Package hashset finds a repeat among 64-bit hashes: the duplicate-key
// checks of a commit (package kv's MPut, package segment's encoder and
// scanner) hash every key of a batch and look for two equal hashes,
// comparing keys only then.
package hashset

import "math/rand/v2"

// Set is a set of 64-bit hashes: an open-addressing table, probed
// linearly, reused from one use to the next. The zero Set is ready for
// Reset.
//
// A hash's first slot is the top bits of the hash mixed with a random
// seed drawn once per process (the splitmix64 finalizer of their XOR),
// not bits of the hash itself: the keys' hashes are unseeded (xxhash),
// so keys chosen to share the bits that pick a slot would otherwise pile
// up in one run of slots and make each Add probe past all the others,
// quadratic in a batch's size (a review found 64k such keys, 64 tries
// each to find, cost a commit 0.8 s to encode and every later scan of
// its segment as much). A mere multiplication by a random odd number
// spread arithmetic progressions of hashes badly for some numbers.
type Set struct {
	t      []uint64
	mask   uint64
	shift  uint8
	probes int
}

// seed picks slots (see Set).
var seed = rand.Uint64()

// slot mixes h with the seed (splitmix64's finalizer).
func slot(h uint64) uint64 {
	z := h ^ seed
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Reset empties s for up to n hashes: a table of at least 2n slots (a
// power of two, 16 at least), reusing s's memory when it is large
// enough.
func (s *Set) Reset(n int) {
	size, shift := 16, uint8(60)
	for size < 2*n {
		size <<= 1
		shift--
	}
	if cap(s.t) < size {
		s.t = make([]uint64, size)
	} else {
		s.t = s.t[:size]
		clear(s.t)
	}
	s.mask, s.shift, s.probes = uint64(size-1), shift, 0
}

// Add adds hash h and reports whether it was there already. Its top bit
// is set before it is stored (0 marks a free slot), so two hashes that
// differ only there count as one: a repeat the caller's comparison of
// the keys then finds false, as it does any collision.
func (s *Set) Add(h uint64) bool {
	h |= 1 << 63
	for i := slot(h) >> s.shift; ; i = (i + 1) & s.mask {
		s.probes++
		switch s.t[i] {
		case 0:
			s.t[i] = h
			return false
		case h:
			return true
		}
	}
}

// Size returns the number of slots of s's table (0 before Reset), for a
// caller that drops a large table rather than keep it.
func (s *Set) Size() int { return len(s.t) }

// Probes returns how many slots the Adds since the last Reset looked
// at: about 1.5 an Add whatever the hashes (tests hold it to that).
func (s *Set) Probes() int { return s.probes }
