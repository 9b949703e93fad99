package index

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
	"unsafe"
)

// Loading: recovery adds every version of a directory to an empty index
// with no reader about. Linking each new key into the skiplist costs a
// search through memory laid out in the order keys were met (random, for
// most workloads): a cache miss per step. Between BeginLoad and EndLoad,
// Add only hashes new keys; EndLoad sorts them once and lays the whole
// index out again in key order, each key's versions right behind its node,
// newest first. Scans then walk memory in order and History reads one
// short run of it.

// BeginLoad starts a load into an empty index. Until EndLoad, Add and the
// hash lookups (Find, Get) work as always, but Seek sees no key: no reader
// may use the index before EndLoad.
func (ix *Index) BeginLoad() {
	ix.linkPending()
	ix.loading = true
	ix.unlinked = ix.unlinked[:0]
}

// sortKey orders nodes by (run, key) from a copy of the key's first 16
// bytes, so sorting touches the arena only to break ties beyond them.
type sortKey struct {
	k0, k1 uint64
	run    uint32
	ref    uint32
}

// EndLoad ends a load: the index is rebuilt in (run, key) order, with
// new memory, and every method works again.
func (ix *Index) EndLoad() {
	if !ix.loading {
		return
	}
	ix.loading = false
	refs := ix.unlinked
	ix.unlinked = nil
	if len(refs) == 0 {
		return
	}
	if ix.keys.Load() == int64(len(refs)) && ix.relay(ix.sortKeys(refs)) {
		return
	}
	// Keys were linked before the load began, or the new layout did not
	// fit (an arena near its 32 GiB): link the new keys where they are.
	ix.pendMu.Lock()
	ix.pending = append(ix.pending, refs...)
	ix.npending.Add(int64(len(refs)))
	ix.pendMu.Unlock()
	ix.linkPending()
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

// relay copies the nodes sks lists, in that order, into a new arena, each
// node followed by its later versions newest first, links them and
// rebuilds the hash table; it reports false, changing nothing, if the new
// arena fills up.
func (ix *Index) relay(sks []sortKey) bool {
	nix := &Index{mem: &arena{next: 1}}
	nix.head = nix.mem.alloc(nodeSize(maxHeight, 0))
	nix.node(nix.head).h = maxHeight
	var last [maxHeight]uint32
	for i := range last {
		last[i] = nix.head
	}
	height := 1
	t := newTable(tableSize(len(sks)))
	for _, sk := range sks {
		on := ix.node(sk.ref)
		k := ix.key(sk.ref)
		h := randomHeight()
		height = max(height, h)
		ref := nix.mem.alloc(nodeSize(h, len(k)))
		if ref == 0 {
			nix.mem.free()
			return false
		}
		nn := nix.node(ref)
		nn.run, nn.h, nn.klen = on.run, uint8(h), on.klen
		copy(nix.key(ref), k)
		first := ix.first(sk.ref)
		nf := nix.first(ref)
		*nf = *first
		// Later versions, newest first: allocated one after another, so
		// they follow the node in memory (but at the end of a chunk).
		link := &nf.link
		for r := first.link; r != 0; r = ix.rec(r).link {
			nr := nix.mem.alloc(recSize)
			if nr == 0 {
				nix.mem.free()
				return false
			}
			dst := nix.rec(nr)
			*dst = *ix.rec(r)
			*link = nr
			link = &dst.link
		}
		*link = 0
		for lvl := 0; lvl < h; lvl++ {
			nix.setNext(last[lvl], lvl, ref)
			last[lvl] = ref
		}
		put(t, hashOf(on.run, unsafe.String(unsafe.SliceData(k), len(k))), ref)
	}
	// No reader holds a ref into the old arena: swap the new one in and
	// free the old.
	old := ix.mem.chunks.Swap(nix.mem.chunks.Load())
	ix.mem.next = nix.mem.next
	for _, c := range *old {
		freeChunk(c)
	}
	ix.head = nix.head
	ix.height.Store(int32(height))
	ix.hash.Store(t)
	return true
}

// tableSize returns the hash table size for n keys: a power of two, at
// most three quarters full.
func tableSize(n int) int {
	size := 1024
	for size*3 < n*4+4 {
		size *= 2
	}
	return size
}

// link links node ref of height h after preds, bottom up.
func (ix *Index) link(ref uint32, h int, preds *[maxHeight]uint32) {
	if cur := int(ix.height.Load()); h > cur {
		for lvl := cur; lvl < h; lvl++ {
			preds[lvl] = ix.head
		}
		ix.height.Store(int32(h))
	}
	for lvl := 0; lvl < h; lvl++ {
		ix.setNext(ref, lvl, ix.next(preds[lvl], lvl))
	}
	// Publish bottom up: a reader that finds the node at a level can go on
	// from it.
	for lvl := 0; lvl < h; lvl++ {
		ix.setNext(preds[lvl], lvl, ref)
	}
}
