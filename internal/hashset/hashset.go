// Package hashset finds a repeat among 64-bit hashes: the duplicate-key
// checks of a commit (package kv's MPut, package segment's encoder and
// scanner) hash every key of a batch and look for two equal hashes,
// comparing keys only then.
package hashset

// Set is a set of 64-bit hashes: an open-addressing table, probed
// linearly from a hash's low bits, reused from one use to the next. The
// zero Set is ready for Reset.
type Set struct {
	t    []uint64
	mask uint64
}

// Reset empties s for up to n hashes: a table of at least 2n slots (a
// power of two, 16 at least), reusing s's memory when it is large
// enough.
func (s *Set) Reset(n int) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if cap(s.t) < size {
		s.t = make([]uint64, size)
	} else {
		s.t = s.t[:size]
		clear(s.t)
	}
	s.mask = uint64(size - 1)
}

// Add adds hash h and reports whether it was there already. Its top bit
// is set before it is stored (0 marks a free slot), so two hashes that
// differ only there count as one: a repeat the caller's comparison of
// the keys then finds false, as it does any collision.
func (s *Set) Add(h uint64) bool {
	h |= 1 << 63
	for i := h & s.mask; ; i = (i + 1) & s.mask {
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
