package index

// Ordering: the linker sorts the keys it links (see "Linking" in the
// package doc).

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
)

// sortKey orders nodes by (run, key) from a copy of the key's first 16
// bytes, so sorting touches the arena only to break ties beyond them.
type sortKey struct {
	k0, k1 uint64
	run    uint32
	ref    uint32
}

// sortKeys returns refs as sortKeys, in (run, key) order.
func (ix *Index) sortKeys(refs []uint32) []sortKey {
	sks := make([]sortKey, len(refs))
	var pad [16]byte
	for i, ref := range refs {
		k := ix.key(ref)
		p := pad[:]
		if len(k) >= 16 {
			p = k[:16]
		} else {
			copy(p, k)
			clear(p[len(k):])
		}
		sks[i] = sortKey{k0: binary.BigEndian.Uint64(p), k1: binary.BigEndian.Uint64(p[8:]), run: ix.node(ref).run, ref: ref}
	}
	slices.SortFunc(sks, func(a, b sortKey) int {
		if c := cmp.Compare(a.run, b.run); c != 0 {
			return c
		}
		if c := cmp.Compare(a.k0, b.k0); c != 0 {
			return c
		}
		if c := cmp.Compare(a.k1, b.k1); c != 0 {
			return c
		}
		return bytes.Compare(ix.key(a.ref), ix.key(b.ref))
	})
	return sks
}

// sortRefs puts refs in (run, key) order.
func (ix *Index) sortRefs(refs []uint32) {
	for i, sk := range ix.sortKeys(refs) {
		refs[i] = sk.ref
	}
}
