package index

import (
	"bytes"
	"errors"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// Building: when every key comes in order, as recovery's merge of the
// segments' hint files gives them, the index can be laid out directly in
// its final shape: nodes one after another in key order, each followed
// by its later versions, the skiplist linked as the nodes are written
// (each level's last node is the new node's predecessor), and the hash
// table filled once at the end at its final size. No search, no sort, no
// second copy: memory is written in order, and only the hash table is
// touched at random.

// Reset empties the index, as New returns it, freeing its memory: for a
// build that must start over. No other method may run during or after
// it until it returns, nor may the linker have keys queued (a Builder
// queues none).
func (ix *Index) Reset() {
	ix.linkPending()
	ix.mem.free()
	ix.mem.next = 1
	ix.head = ix.mem.alloc(nodeSize(maxHeight, 0, Record{}))
	ix.node(ix.head).h = maxHeight
	ix.height.Store(1)
	ix.hash.Store(newTable(1024))
	ix.runs.Clear()
	ix.names.Clear()
	ix.nruns = 0
	ix.recent.Store(nil)
	ix.keys.Store(0)
	ix.live.Store(0)
	ix.versions.Store(0)
	ix.sources = nil
}

// ErrOrder is returned by Builder.Add for a key that does not come after
// the one before.
var ErrOrder = errors.New("index: keys out of order")

// Builder lays out an empty index from keys added in order. Between
// Build and Finish no other method of the index may be called.
type Builder struct {
	ix     *Index
	last   [maxHeight]uint32 // at each level, the last node linked
	height int

	run    []byte // the current run's name
	rn     uint32 // and its number
	key    []byte // the current key
	recs   []Record
	refs   []uint32 // every node written, with its hash
	hashes []uint64
	err    error

	// Counts, published at Finish (no reader looks before).
	live, versions int64
	rng            uint64 // state of the tower heights' generator
}

// Build starts laying out ix, which must be empty (no key was ever
// added), from keys given in order; keys is a guess at their number.
func (ix *Index) Build(keys int) (*Builder, error) {
	if ix.keys.Load() != 0 || ix.nruns != 0 {
		return nil, errors.New("index: Build needs an empty index")
	}
	b := &Builder{ix: ix, height: 1, refs: make([]uint32, 0, keys), hashes: make([]uint64, 0, keys), rng: rand.Uint64() | 1}
	for i := range b.last {
		b.last[i] = ix.head
	}
	return b, nil
}

// Add adds version r of (run, key). Runs come in bytewise order of their
// names, keys within a run in bytewise order, and a key's versions
// oldest first; anything else is ErrOrder (or ErrNotNewer for a version
// not above the one before). Add keeps no reference to run or key. After
// an error the Builder refuses everything and Finish returns the error.
func (b *Builder) Add(run, key []byte, r Record) error {
	if b.err != nil {
		return b.err
	}
	if !fits(r) || len(key) > MaxKeyLen {
		return ErrRange // nothing changed: the build may go on
	}
	switch c := bytes.Compare(run, b.run); {
	case b.rn == 0 || c > 0:
		if err := b.flush(); err != nil {
			return err
		}
		ix := b.ix
		if ix.nruns == 1<<32-1 {
			b.err = ErrFull
			return b.err
		}
		ix.nruns++
		b.rn = ix.nruns
		name := string(run)
		ix.names.Store(b.rn, name)
		ix.runs.Store(name, b.rn)
		b.run = append(b.run[:0], run...)
		b.key = append(b.key[:0], key...)
	case c < 0:
		b.err = ErrOrder
		return b.err
	default:
		switch c := bytes.Compare(key, b.key); {
		case c > 0:
			if err := b.flush(); err != nil {
				return err
			}
			b.key = append(b.key[:0], key...)
		case c < 0:
			b.err = ErrOrder
			return b.err
		case r.Version <= b.recs[len(b.recs)-1].Version:
			b.err = ErrNotNewer
			return b.err
		}
	}
	b.recs = append(b.recs, r)
	return nil
}

// flush writes the current key and its versions, if any.
func (b *Builder) flush() error {
	if len(b.recs) == 0 {
		return nil
	}
	ix := b.ix
	h := b.height1()
	ref := ix.mem.alloc(nodeSize(h, len(b.key), b.recs[0]))
	if ref == 0 {
		b.err = ErrFull
		return b.err
	}
	n := ix.node(ref)
	n.run, n.h, n.klen = b.rn, uint8(h), uint16(len(b.key))
	copy(ix.key(ref), b.key)
	first := ix.first(ref)
	first.set(b.recs[0])
	// Later versions newest first, right behind the node.
	link := &first.link
	// p1 and p2 are the records written one and two rounds before: x is
	// the record two older than p2 (its skip; the memory is zeroed, so
	// the last two keep 0, which stands for the first version or none).
	var p1, p2 *rec
	for i := len(b.recs) - 1; i >= 1; i-- {
		nr := ix.mem.alloc(skipSize + recSize)
		if nr == 0 {
			b.err = ErrFull
			return b.err
		}
		nr += skipSize >> unitShift
		x := ix.rec(nr)
		x.set(b.recs[i])
		*link = nr
		link = &x.link
		if p2 != nil {
			*p2.skip() = nr
		}
		p1, p2 = x, p1
	}
	*link = 0
	b.height = max(b.height, h)
	for lvl := range h {
		ix.setNext(b.last[lvl], lvl, ref)
		b.last[lvl] = ref
	}
	b.refs = append(b.refs, ref)
	b.hashes = append(b.hashes, hashOf(b.rn, unsafe.String(unsafe.SliceData(b.key), len(b.key))))
	if !b.recs[len(b.recs)-1].Tombstone() {
		b.live++
	}
	b.versions += int64(len(b.recs))
	b.recs = b.recs[:0]
	return nil
}

// height1 returns a random tower height, as randomHeight does (p = 1/4),
// from the builder's own generator (xorshift64*): no shared state to
// touch per key.
func (b *Builder) height1() int {
	b.rng ^= b.rng >> 12
	b.rng ^= b.rng << 25
	b.rng ^= b.rng >> 27
	r := b.rng * 2685821657736338717
	return min(1+bits.TrailingZeros64(r|1<<(2*maxHeight-2))/2, maxHeight)
}

// Finish writes the last key, fills the hash table and returns the index
// to normal use. On an error (of Finish or an earlier Add) the index
// holds what was written and must be closed.
func (b *Builder) Finish() error {
	if b.err == nil {
		b.flush()
	}
	ix := b.ix
	t := newTable(tableSize(len(b.refs)))
	for i, ref := range b.refs {
		put(t, b.hashes[i], ref)
	}
	ix.keys.Store(int64(len(b.refs)))
	ix.live.Store(b.live)
	ix.versions.Store(b.versions)
	ix.hash.Store(t)
	ix.height.Store(int32(b.height))
	b.refs, b.hashes = nil, nil
	return b.err
}

// tableSize returns the hash table size for n keys: the first size
// growing tables pass through (1024, then grownSize) at most three
// quarters full.
func tableSize(n int) int {
	size := 1024
	for size*3 < n*4+4 {
		size = grownSize(size)
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
