// Package index is Strata's in-memory index: an ordered skiplist keyed by
// (run, key) whose nodes hold each key's version chain, newest first.
//
// Concurrency: one writer at a time (the commit pipeline, or recovery)
// calls Add; any number of readers call Get, Find, Seek and the Chain and
// Iterator methods at the same time, without locks. Readers never block the
// writer and the writer never blocks readers: nodes and versions are
// published with atomic pointer stores after they are fully built, so a
// reader sees either the old or the new state of every link.
//
// Snapshots: a reader passes the snapshot version it reads at; versions
// above it are skipped. The writer may therefore add versions before they
// are visible (the commit pipeline publishes a version only when every
// lower one is durable as the mode requires), and readers stay consistent.
//
// The index knows nothing about disk: a Record says where a version's
// stored value lies (segment, offset, length, codec) and the caller reads
// it.
package index

import (
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"unsafe"
)

// Record flags.
const (
	FlagTombstone uint8 = 1 << 0
	// FlagCodecMask holds the value's codec (segment.CodecRaw, CodecS2).
	FlagCodecShift       = 1
	FlagCodecMask  uint8 = 0x3 << FlagCodecShift
)

// Record describes one version of a key.
type Record struct {
	Version   uint64
	Timestamp int64  // Unix microseconds
	Offset    int64  // offset of the stored value in its segment
	Segment   uint32 // segment id
	Len       uint32 // stored value length
	Flags     uint8
}

// Tombstone reports whether the record is a deletion.
func (r Record) Tombstone() bool { return r.Flags&FlagTombstone != 0 }

// Codec returns the stored value's codec.
func (r Record) Codec() uint8 { return (r.Flags & FlagCodecMask) >> FlagCodecShift }

// version is one element of a version chain. 48 bytes on 64-bit machines.
type version struct {
	Record
	next atomic.Pointer[version] // older version
}

const maxHeight = 20

// node is a skiplist node: one (run, key) and its version chain.
type node struct {
	key   string // run + "\x00" + key: runs hold no NUL, so this sorts by run, then key
	runN  int    // len(run)
	head  atomic.Pointer[version]
	tower []atomic.Pointer[node]
}

// Index is the ordered, concurrent (run, key) -> version chain map.
type Index struct {
	head     node
	height   atomic.Int32
	keys     atomic.Int64 // nodes
	live     atomic.Int64 // nodes whose newest version is not a tombstone
	versions atomic.Int64
	bytes    atomic.Int64 // sum of stored value lengths of all versions
}

// New returns an empty index.
func New() *Index {
	ix := &Index{}
	ix.head.tower = make([]atomic.Pointer[node], maxHeight)
	ix.height.Store(1)
	return ix
}

// compareTo compares a node key with run + "\x00" + key without building
// that string.
func compareTo(nk, run, key string) int {
	n := min(len(nk), len(run))
	if c := strings.Compare(nk[:n], run[:n]); c != 0 {
		return c
	}
	if len(nk) < len(run) {
		return -1
	}
	rest := nk[len(run):]
	if len(rest) == 0 {
		return -1
	}
	if rest[0] != 0 {
		return 1
	}
	return strings.Compare(rest[1:], key)
}

// findGE returns the first node >= (run, key), filling preds (if not nil)
// with the last node < (run, key) at each level.
func (ix *Index) findGE(run, key string, preds *[maxHeight]*node) *node {
	x := &ix.head
	for lvl := int(ix.height.Load()) - 1; lvl >= 0; lvl-- {
		for {
			next := x.tower[lvl].Load()
			if next == nil || compareTo(next.key, run, key) >= 0 {
				break
			}
			x = next
		}
		if preds != nil {
			preds[lvl] = x
		}
	}
	return x.tower[0].Load()
}

func randomHeight() int {
	h := 1
	for h < maxHeight && rand.Uint32()&3 == 0 { // p = 1/4
		h++
	}
	return h
}

// AddBytes is Add for a key held in a byte slice (a mapped segment, during
// recovery). The key is copied only when the index has not seen it before,
// so recovering many versions of few keys allocates little.
func (ix *Index) AddBytes(run string, key []byte, r Record) bool {
	// A view of key without copying it: findGE only compares it, and
	// insert builds the node's key with a concatenation, which copies.
	return ix.Add(run, unsafe.String(unsafe.SliceData(key), len(key)), r)
}

// Add records a new version of (run, key). Only one goroutine may call Add
// at a time. r.Version must exceed every version already held for the key;
// if it does not, Add changes nothing and returns false. Add keeps no
// reference to key.
func (ix *Index) Add(run, key string, r Record) bool {
	var preds [maxHeight]*node
	n := ix.findGE(run, key, &preds)
	if n == nil || compareTo(n.key, run, key) != 0 {
		n = ix.insert(run, key, &preds)
	}
	prev := n.head.Load()
	if prev != nil && prev.Version >= r.Version {
		return false
	}
	v := &version{Record: r}
	v.next.Store(prev)
	n.head.Store(v)

	wasLive := prev != nil && !prev.Tombstone()
	switch isLive := !r.Tombstone(); {
	case isLive && !wasLive:
		ix.live.Add(1)
	case !isLive && wasLive:
		ix.live.Add(-1)
	}
	ix.versions.Add(1)
	ix.bytes.Add(int64(r.Len))
	return true
}

func (ix *Index) insert(run, key string, preds *[maxHeight]*node) *node {
	h := randomHeight()
	if cur := int(ix.height.Load()); h > cur {
		for lvl := cur; lvl < h; lvl++ {
			preds[lvl] = &ix.head
		}
		ix.height.Store(int32(h))
	}
	n := &node{key: run + "\x00" + key, runN: len(run), tower: make([]atomic.Pointer[node], h)}
	for lvl := 0; lvl < h; lvl++ {
		n.tower[lvl].Store(preds[lvl].tower[lvl].Load())
	}
	// Publish bottom up: a reader that finds n at a level can go on from it.
	for lvl := 0; lvl < h; lvl++ {
		preds[lvl].tower[lvl].Store(n)
	}
	ix.keys.Add(1)
	return n
}

// Find returns the version chain of (run, key), or nil if the index has
// never held it.
func (ix *Index) Find(run, key string) *Chain {
	n := ix.findGE(run, key, nil)
	if n == nil || compareTo(n.key, run, key) != 0 {
		return nil
	}
	return (*Chain)(n)
}

// Get returns the newest version of (run, key) at or below snap.
func (ix *Index) Get(run, key string, snap uint64) (Record, bool) {
	c := ix.Find(run, key)
	if c == nil {
		return Record{}, false
	}
	return c.At(snap)
}

// Counts reports the number of keys, of live keys (newest version not a
// tombstone, counting versions not yet visible), of versions, and the sum
// of stored value lengths.
func (ix *Index) Counts() (keys, live, versions, valueBytes int64) {
	return ix.keys.Load(), ix.live.Load(), ix.versions.Load(), ix.bytes.Load()
}

// Chain is the version chain of one key.
type Chain node

// Key returns the chain's key (without its run).
func (c *Chain) Key() string { return c.key[c.runN+1:] }

// Run returns the chain's run.
func (c *Chain) Run() string { return c.key[:c.runN] }

// At returns the newest version at or below snap.
func (c *Chain) At(snap uint64) (Record, bool) {
	for v := c.head.Load(); v != nil; v = v.next.Load() {
		if v.Version <= snap {
			return v.Record, true
		}
	}
	return Record{}, false
}

// Newest returns the newest version, visible or not.
func (c *Chain) Newest() (Record, bool) {
	v := c.head.Load()
	if v == nil {
		return Record{}, false
	}
	return v.Record, true
}

// Versions calls fn for each version at or below snap, newest first,
// until fn returns false.
func (c *Chain) Versions(snap uint64, fn func(Record) bool) {
	for v := c.head.Load(); v != nil; v = v.next.Load() {
		if v.Version <= snap && !fn(v.Record) {
			return
		}
	}
}

// Iterator walks the chains of one run in key order. It is a plain value;
// the zero Iterator is exhausted.
type Iterator struct {
	n   *node
	run string
}

// Seek returns an iterator at the first key >= start in run.
func (ix *Index) Seek(run, start string) Iterator {
	it := Iterator{n: ix.findGE(run, start, nil), run: run}
	it.check()
	return it
}

func (it *Iterator) check() {
	if it.n != nil && (it.n.runN != len(it.run) || !strings.HasPrefix(it.n.key, it.run)) {
		it.n = nil
	}
}

// Valid reports whether the iterator is at a chain.
func (it *Iterator) Valid() bool { return it.n != nil }

// Chain returns the chain the iterator is at.
func (it *Iterator) Chain() *Chain { return (*Chain)(it.n) }

// Next moves to the next key of the run.
func (it *Iterator) Next() {
	if it.n != nil {
		it.n = it.n.tower[0].Load()
		it.check()
	}
}
