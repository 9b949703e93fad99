package index

// Ordering: the linker sorts the keys it links (see "Linking" in the
// package doc).

import (
	"bytes"

	"github.com/strata-kv/strata/internal/keysort"
)

// sortKeys returns refs as sort keys (Ref the node's ref), in (run, key)
// order: a radix sort of the runs and the keys' first 16 bytes, copied
// from the nodes once, then the whole keys compared within ties only.
// With linkMu held: the keys live in the index's scratch, valid until
// the next call.
func (ix *Index) sortKeys(refs []uint32) []keysort.Key {
	if cap(ix.sortBuf) < len(refs) {
		ix.sortBuf = make([]keysort.Key, len(refs))
		ix.sortTmp = make([]keysort.Key, len(refs))
	}
	ks := ix.sortBuf[:len(refs)]
	for i, ref := range refs {
		k0, k1 := keysort.Prefix(ix.key(ref))
		ks[i] = keysort.Key{K0: k0, K1: k1, Run: ix.node(ref).run, Ref: ref}
	}
	ks = keysort.Radix(ks, ix.sortTmp)
	keysort.Ties(ks, func(a, b keysort.Key) int { return bytes.Compare(ix.key(a.Ref), ix.key(b.Ref)) })
	if cap(ix.sortBuf) > maxSortScratch {
		// A batch linked by a writer far ahead of the linker: keep no
		// more than a usual batch's scratch.
		ix.sortBuf, ix.sortTmp = nil, nil
	}
	return ks
}

// maxSortScratch is the most sort keys the index keeps scratch for
// between batches: 2 x 1.5 MiB.
const maxSortScratch = maxPending

// sortRefs puts refs in (run, key) order. With linkMu held.
func (ix *Index) sortRefs(refs []uint32) {
	for i, k := range ix.sortKeys(refs) {
		refs[i] = k.Ref
	}
}
