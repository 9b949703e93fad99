// Package keysort puts records in (run, key) order from fixed-width sort
// keys: a run's number and a copy of the key's first 16 bytes. The
// index's linker sorts each batch of new keys with it before linking
// them, and package segment a hint's entries before encoding them.
//
// A Key is 24 bytes and holds no pointer: the sort moves Keys, never the
// records, and reads a record's whole key only to order Keys whose run
// and 16 bytes are equal (Ties). Radix sorts by (Run, K0, K1) a byte at
// a time, least significant first, and skips each byte every Key
// shares: keys like "user:000012345", whose first bytes are the same and
// whose numbers are dense, sort in a few passes where a comparison sort
// takes log2(n) comparisons a key, each two loads of a 24-byte Key.
// InPlace gives the same order (but for Keys that tie) with scratch of
// any size: a hint build's half a million Keys with 1.5 MB.
package keysort

import (
	"encoding/binary"
	"slices"
)

// Key is one record's sort key.
type Key struct {
	K0, K1 uint64 // the key's first 16 bytes, big-endian, zero-padded
	Run    uint32 // the record's run, as a number in run order
	Ref    uint32 // the caller's reference to the record
}

// Prefix returns the first 16 bytes of key as K0 and K1: big-endian, so
// that they compare as the bytes do, and zero-padded if key is shorter
// (a key and the same key followed by zero bytes then tie, and Ties
// orders them).
func Prefix(key []byte) (k0, k1 uint64) {
	if len(key) >= 16 {
		return binary.BigEndian.Uint64(key), binary.BigEndian.Uint64(key[8:])
	}
	var pad [16]byte
	copy(pad[:], key)
	return binary.BigEndian.Uint64(pad[:]), binary.BigEndian.Uint64(pad[8:])
}

// Less reports whether a's (Run, K0, K1) is below b's.
func Less(a, b *Key) bool {
	if a.Run != b.Run {
		return a.Run < b.Run
	}
	if a.K0 != b.K0 {
		return a.K0 < b.K0
	}
	return a.K1 < b.K1
}

// Same reports whether a and b have the same (Run, K0, K1): only their
// records' whole keys can order them.
func Same(a, b *Key) bool {
	return a.Run == b.Run && a.K0 == b.K0 && a.K1 == b.K1
}

// digits is the number of 8-bit digits of a Key's (Run, K0, K1): 4 + 8
// + 8.
const digits = 20

// small is the length below which Radix sorts by comparison: counting
// 20 digits' 256 values costs more than a few comparisons a Key.
const small = 128

// Radix sorts ks by (Run, K0, K1), stably, using tmp (at least as long
// as ks) for scratch, and returns whichever of the two holds the result,
// the first len(ks) Keys of it. Keys whose (Run, K0, K1) are equal keep
// their order; Ties orders them.
func Radix(ks, tmp []Key) []Key {
	if len(ks) < small {
		slices.SortStableFunc(ks, func(a, b Key) int {
			switch {
			case Less(&a, &b):
				return -1
			case Less(&b, &a):
				return 1
			}
			return 0
		})
		return ks
	}
	tmp = tmp[:len(ks)]
	// Digits 0-7 are K1's bytes from the lowest, 8-15 K0's, 16-19 Run's.
	var counts [digits][256]uint32
	for i := range ks {
		k := &ks[i]
		for d := range 8 {
			counts[d][uint8(k.K1>>(8*d))]++
			counts[8+d][uint8(k.K0>>(8*d))]++
		}
		for d := range 4 {
			counts[16+d][uint8(k.Run>>(8*d))]++
		}
	}
	n := uint32(len(ks))
	for d := range digits {
		c := &counts[d]
		field, shift := d/8, uint(8*(d%8)) // field 0: K1, 1: K0, 2: Run
		var first uint8
		switch field {
		case 0:
			first = uint8(ks[0].K1 >> shift)
		case 1:
			first = uint8(ks[0].K0 >> shift)
		default:
			first = uint8(ks[0].Run >> shift)
		}
		if c[first] == n {
			continue // every Key has this digit
		}
		var sum uint32
		for v := range c {
			c[v], sum = sum, sum+c[v]
		}
		// A loop for each field, so that the digit's extraction is not
		// a branch in the loop.
		switch field {
		case 0:
			for i := range ks {
				v := uint8(ks[i].K1 >> shift)
				tmp[c[v]] = ks[i]
				c[v]++
			}
		case 1:
			for i := range ks {
				v := uint8(ks[i].K0 >> shift)
				tmp[c[v]] = ks[i]
				c[v]++
			}
		default:
			for i := range ks {
				v := uint8(ks[i].Run >> shift)
				tmp[c[v]] = ks[i]
				c[v]++
			}
		}
		ks, tmp = tmp, ks
	}
	return ks
}

// Ties sorts each stretch of ks whose Keys have the same (Run, K0, K1)
// by cmp, which compares the records' whole keys (and whatever else
// orders them). ks must be in (Run, K0, K1) order.
func Ties(ks []Key, cmp func(a, b Key) int) {
	for i := 0; i < len(ks); {
		j := i + 1
		for j < len(ks) && Same(&ks[j], &ks[i]) {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(ks[i:j], cmp)
		}
		i = j
	}
}

// InPlace sorts ks by (Run, K0, K1) as Radix does, with scratch of any
// length rather than one as long as ks: a most-significant-digit radix
// sort moves the Keys between the parts of a digit by swaps (American
// flag sort), then sorts each part by the digits below, until a part
// fits in tmp, which Radix then sorts. It is not stable: Keys whose
// (Run, K0, K1) are equal come in any order, so that Ties must order
// them by a comparison that tells every two apart. A hint build sorts
// half a million Keys with it, where Radix's scratch, as large as the
// Keys, would be the build's peak.
func InPlace(ks, tmp []Key) {
	if len(ks) < 2 {
		return
	}
	// Digits no Key differs from the first in are skipped at every
	// level.
	var diff [3]uint64 // K1, K0, Run: the digits' fields, as Radix numbers them
	for i := range ks {
		diff[0] |= ks[i].K1 ^ ks[0].K1
		diff[1] |= ks[i].K0 ^ ks[0].K0
		diff[2] |= uint64(ks[i].Run ^ ks[0].Run)
	}
	// Radix's digit numbering: K1's lowest byte is digit 0, Run's top
	// byte digit 19.
	var vary [digits]bool
	for d := range digits {
		vary[d] = uint8(diff[d/8]>>(8*(d%8))) != 0
	}
	flagSort(ks, tmp, digits-1, &vary)
}

// flagSort sorts ks, whose Keys share every digit above d, by digits d
// down to 0.
func flagSort(ks, tmp []Key, d int, vary *[digits]bool) {
	for len(ks) > len(tmp) && len(ks) >= small {
		for d >= 0 && !vary[d] {
			d--
		}
		if d < 0 {
			return // every digit is the same
		}
		field, shift := d/8, uint(8*(d%8))
		var count [256]uint32
		switch field {
		case 0:
			for i := range ks {
				count[uint8(ks[i].K1>>shift)]++
			}
		case 1:
			for i := range ks {
				count[uint8(ks[i].K0>>shift)]++
			}
		default:
			for i := range ks {
				count[uint8(ks[i].Run>>shift)]++
			}
		}
		if count[digitOf(&ks[0], field, shift)] == uint32(len(ks)) {
			d-- // the same in this part
			continue
		}
		var next, end [256]uint32
		var sum uint32
		for v := range count {
			next[v] = sum
			sum += count[v]
			end[v] = sum
		}
		// Each place of part v takes, by swaps, a Key of part v: a Key
		// swapped out goes to its own part's next place.
		for v := range count {
			for next[v] < end[v] {
				i := next[v]
				w := digitOf(&ks[i], field, shift)
				if int(w) == v {
					next[v]++
					continue
				}
				j := next[w]
				next[w]++
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
		var from uint32
		for v := range count {
			if count[v] > 1 {
				flagSort(ks[from:from+count[v]], tmp, d-1, vary)
			}
			from += count[v]
		}
		return
	}
	if sorted := Radix(ks, tmp); len(ks) > 0 && &sorted[0] != &ks[0] {
		copy(ks, sorted)
	}
}

// InPlaceScratch is the scratch InPlace is meant to be given: 1.5 MB,
// parts that fit in a core's cache.
const InPlaceScratch = 1 << 16

// digitOf returns the byte at shift of field (0 K1, 1 K0, 2 Run) of k.
func digitOf(k *Key, field int, shift uint) uint8 {
	switch field {
	case 0:
		return uint8(k.K1 >> shift)
	case 1:
		return uint8(k.K0 >> shift)
	}
	return uint8(k.Run >> shift)
}
