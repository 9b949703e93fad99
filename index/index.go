// Package index is Strata's in-memory index: an ordered skiplist keyed by
// (run, key) whose nodes hold each key's versions, newest first, and a hash
// table from (run, key) to node for point lookups. It is Strata's
// implementation, with no compatibility promise: applications use
// package kv.
//
// # Memory layout
//
// Everything the index holds for keys and versions lives in an arena of
// 2 MiB chunks, mapped outside the Go heap on Unix (on the heap, holding
// no pointers, elsewhere and under -race), so the garbage collector never
// scans them and, on Unix, does not count them in the heap it lets grow
// between collections: an index of millions of keys costs it nothing. On
// Linux the chunks but the first ask for transparent huge pages (they are
// 2 MiB-aligned), so that a lookup's node and records miss the cache but
// not the TLB too. A place in the arena is a ref, a uint32 counting
// 4-byte units from the arena's start (0 is nil), so the arena addresses
// 16 GiB. Chunks are neither moved nor reused while the index lives
// (Close frees them); what is written there is immutable
// once published, except the atomic words named below. Keys handed out
// are copies (Chain.Key); a view (Chain.KeyView) must not outlive the call.
//
// A node (4-byte aligned; 8 + 4h + K bytes rounded up to 4, then 24):
//
//	0   run   uint32  run number (runs are numbered as the index meets them)
//	4   h     uint8   tower height, 1..maxHeight
//	5   -     uint8
//	6   K     uint16  key length
//	8   tower [h]uint32  atomic: ref of the next node at each level
//	8+4h      key bytes, then zeros up to a multiple of 4 (at R)
//	R         the key's first version, a record (below) whose link is head:
//	          atomic, the ref of the newest later version, 0 if none
//
// A record is 24 bytes, six 4-byte words. Its two 8-byte words are
// atomic (Drop clears vf, or marks a node's first version droppedFirst,
// Relocate rewrites loc) and so must be 8-byte
// aligned: where the record starts 8-byte aligned they are words 0-1 and
// 2-3, with ts32 in word 4; where it starts at 4 mod 8 ts32 comes first
// and they are words 1-2 and 3-4. Word 5 is link in both:
//
//	vf    uint64  bits 0-2 flags (see Record), 3-50 version (48 bits),
//	              51-63 bits 32-44 of the timestamp
//	loc   uint64  bits 0-31 offset of the stored value's field in its
//	              segment (its length uvarint, then its bytes: the index
//	              keeps no length, the field holds it), 32-55 segment id,
//	              56-63 bits 45-52 of the timestamp
//	ts32  uint32  bits 0-31 of the timestamp (Unix microseconds, 53 bits
//	              in all: 1970 to 2255)
//	link  uint32  in a node: head; in a later version: prev, the ref of
//	              the next older record (0: the node's own first version
//	              is next)
//
// A later version (a record of its own, not a node's first) comes after
// a skip word, a uint32: the ref of the record two older, 0 where that is
// the node's first version or there is none. A walk down a key's versions
// prefetches the record after the next as it loads the next, so that it
// waits for every other record's cache miss instead of each:
// BenchmarkVersions10, 10 versions added a round over 100k keys apart,
// went from 2.0 to 1.6 us a walk (Find included), for 4 bytes a version.
//
// What a search compares (run, tower, key) comes first, so a step of a
// search over short keys touches one cache line. A key's versions form
// a list from head down to the node, newest first; each record is
// written once and published by the atomic store of head.
//
// # Runs dropped and forked
//
// DeleteRun and ForkRun change every key of a run at one version, for a
// commit that stores one small record (package kv's run events): the
// index adds the records that stand for it, 28 bytes a key (32 for a
// link; 4 less where the record is a new node's first version), with no
// stored value of their own (Segment 0). DeleteRun adds a
// tombstone to each live key. ForkRun adds to each key of dst a link: a
// record whose flags hold codec 3 (which no segment holds), whose loc
// holds the version at which the source is read (in bits 0-47), and
// which is followed by one more word, the ref of the source's node. At
// and Newest return, at a link, the source's version it stands for;
// Versions goes on with the source's versions up to that version and
// ends there, so what dst's key held before the fork is hidden from
// readers at or above the fork, and unchanged below it. Raw returns the
// records themselves (compaction's view), Changed the version of the
// newest (conflict checks').
//
// The hash table is an array of node refs (4 bytes a slot) and one of
// tags (a byte of the key's hash a slot), probed linearly from the slot
// the hash's low 32 bits pick; it is replaced by one half as large again
// (grownSize) when it is three quarters full, so it stays 1/2 to 3/4
// full. The writer rehashes inline, 32 nodes at a time, prefetching the
// nodes and then their new slots so that the misses overlap (48 ns a
// key at 1M keys, BenchmarkGrow). A table of 64 KiB or more is mapped
// outside the Go heap as the chunks are, and unmapped once no reader
// holds it (see newTable).
//
// Cost: a key with one version takes 32 bytes of node (8 of header, 24
// of first version), 5.3 bytes of tower on average (towers grow with
// p = 1/4), its key bytes, padding to 4 (1.5 bytes on average) and 6.7 to
// 10 bytes of hash table: 44 to 49 bytes beyond its key, 44 to 47.3 for
// keys whose length is a multiple of 4 (TestMemoryPerKeyAndVersion
// measures 37.3 + 6.7 at 100k keys of 16 bytes; the bench 46.2 in all at
// 1M). Each later version takes 28 bytes: its skip word and its record.
// Unused space at the end of the
// newest chunk (under 2 MiB) comes on top.
//
// Limits: versions below 2^48, timestamps from 0 to 2^53-1, segment ids
// below 2^24, value fields at offsets below 2^32 (4 GiB; package kv's
// segments stay under it), keys of at most 65535 bytes, 16 GiB of arena;
// Add refuses a record beyond them with ErrRange or ErrFull and changes
// nothing.
//
// # Linking
//
// A new key is in the hash table, and so found by Get and Find, as soon
// as Add returns; it joins the skiplist a little later. Linking a key into
// a skiplist of millions costs a search through memory in arrival order:
// a cache miss at most steps. So Add only queues the node, and a linker
// goroutine (started when linkMin (1024) keys are queued, ending when none
// is left) links queued nodes in batches, in key order (a radix sort of
// their runs and first 16 bytes, package keysort), where neighbouring
// keys share most of their search path and find it in the cache. A batch
// goes a window of 256 keys at a time: first every key's predecessors
// are found by eight searches in lanes, which take a step each in turn,
// each round touching the nodes all lanes compare next before comparing,
// so that their cache misses overlap (findPreds); then the window's keys
// are linked in order, no search needed. Seek first links whatever is
// still queued, so an iterator sees every key added before it; and a
// writer that finds more than maxPending (64k) keys queued links them
// itself, which bounds both the queue and the wait of a Seek.
//
// # Concurrency
//
// One writer at a time (the commit pipeline, or recovery) calls Add; any
// number of readers call Get, Find, Seek and the Chain and Iterator methods
// at the same time, without locks (but for a Seek that links queued keys,
// see Linking). Nodes and records are written in full before a ref to
// them is published with an atomic store (a tower link, head, a hash
// slot, or the hash table itself), so a reader sees either the old or the
// new state of every link and never a half-built node. (The race detector
// sees only Go memory, so under -race the arena is on the Go heap.)
//
// Snapshots: a reader passes the snapshot version it reads at; versions
// above it are skipped. The writer may therefore add versions before they
// are visible (the commit pipeline publishes a version only when every
// lower one is durable as the mode requires), and readers stay consistent.
// A reader must load its snapshot before it calls into the index: a key
// added after the hash table it loaded was replaced is missing from that
// table, and such a key has only versions above the snapshot.
//
// The index knows nothing about disk: a Record says where a version's
// stored value lies (segment, the offset of its field, codec) and the
// caller reads it.
package index

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cespare/xxhash/v2"

	"github.com/strata-kv/strata/internal/keysort"
	"github.com/strata-kv/strata/internal/prefetch"
)

// Record flags.
const (
	FlagTombstone uint8 = 1 << 0
	// FlagCodecMask holds the value's codec (segment.CodecRaw, CodecS2).
	FlagCodecShift       = 1
	FlagCodecMask  uint8 = 0x3 << FlagCodecShift
	flagMask             = FlagTombstone | FlagCodecMask
	// flagLink (codec 3, which no segment holds) marks a link, the record
	// ForkRun adds: its loc holds the version it reads its source at and
	// its n the ref of the source's node (see Forks in the package doc).
	flagLink = FlagCodecMask
	// droppedFirst (a tombstone of codec 3, which no record holds) marks
	// a node's first version that Drop removed: its version bits stay,
	// for First, and every other reader sees version 0, as for any
	// record Drop removed (see Chain.Drop).
	droppedFirst = FlagTombstone | FlagCodecMask
)

// Limits of what a Record may hold (see the package doc).
const (
	MaxVersion   = 1<<48 - 1
	MaxTimestamp = 1<<53 - 1 // Unix microseconds: the year 2255
	MaxSegment   = 1<<24 - 1
	MaxOffset    = 1<<32 - 1
	MaxKeyLen    = 1<<16 - 1
)

// Errors of Add.
var (
	// ErrNotNewer: the version is not above the key's newest.
	ErrNotNewer = errors.New("index: version not above the key's newest")
	// ErrRange: a field of the record is beyond the index's limits.
	ErrRange = errors.New("index: record beyond the index's limits")
	// ErrFull: the arena's 16 GiB are used up, or the system refused
	// more memory.
	ErrFull = errors.New("index: arena full")
	// ErrClosed: the index was closed.
	ErrClosed = errors.New("index: closed")
)

// Record describes one version of a key.
type Record struct {
	Version   uint64
	Timestamp int64 // Unix microseconds
	// Field is the offset in its segment of the stored value's field:
	// its length, a uvarint, then its bytes (segment.FieldValue reads
	// it). A deletion has none: its Field means nothing. For a link
	// (Chain.Raw's) it is the version its source is read at.
	Field   int64
	Segment uint32 // segment id
	Flags   uint8
}

// Tombstone reports whether the record is a deletion.
func (r Record) Tombstone() bool { return r.Flags&FlagTombstone != 0 }

// Link reports whether the record is a fork's link (only Chain.Raw
// returns one; Field is then the version its source is read at).
func (r Record) Link() bool { return r.Flags&flagMask == flagLink }

// Synthetic reports whether the record stands for no stored entry of its
// own: a deletion DeleteRun added, or a link. Its Segment is 0.
func (r Record) Synthetic() bool { return r.Segment == 0 && (r.Link() || r.Tombstone()) }

// Codec returns the stored value's codec.
func (r Record) Codec() uint8 { return (r.Flags & FlagCodecMask) >> FlagCodecShift }

// rec is a version as the arena holds it: 24 bytes at a 4-byte aligned
// place, the tail of a node or a record of its own (see the package doc).
// Its two 8-byte words, vf and loc, sit at 8-byte aligned addresses
// wherever the record starts: at 0 and 8 when it starts 8-byte aligned,
// with ts32 at 16; else at 4 and 12, with ts32 at 0. link is at 20 in
// both.
type rec struct {
	_    [5]uint32
	link uint32 // in a node: head; in a record: prev
}

// Bit fields of a record's words.
const (
	vfVersionShift = 3
	vfTSShift      = 51 // bits 32..44 of the timestamp
	locSegShift    = 32
	locTSShift     = 56 // bits 45..52 of the timestamp
	locTSMask      = 0xff << locTSShift
	linkSize       = 4 // a link's record holds its source's node ref after it
)

func (r *rec) odd() uintptr { return uintptr(unsafe.Pointer(r)) & 4 }

func (r *rec) vfp() *uint64 { return (*uint64)(unsafe.Add(unsafe.Pointer(r), r.odd())) }

func (r *rec) locp() *uint64 { return (*uint64)(unsafe.Add(unsafe.Pointer(r), r.odd()+8)) }

func (r *rec) ts32() *uint32 { return (*uint32)(unsafe.Add(unsafe.Pointer(r), 16-4*r.odd())) }

// src is a link record's source: the ref of the node it reads.
func (r *rec) src() *uint32 { return (*uint32)(unsafe.Add(unsafe.Pointer(r), recSize)) }

// skip is a later version's skip word, just before it: the ref of the
// record two older (0: that is the node's first version, or there is
// none). A node's first version has none.
func (r *rec) skip() *uint32 { return (*uint32)(unsafe.Add(unsafe.Pointer(r), -skipSize)) }

// version returns the record's version; 0 means the record is gone
// (Drop): it and every older record of the chain are no more.
func (r *rec) version() uint64 { return vfVersion(atomic.LoadUint64(r.vfp())) }

// vfVersion is the version a record's vf word holds: 0 for a record Drop
// removed.
func vfVersion(vf uint64) uint64 {
	v := vf >> vfVersionShift & MaxVersion
	if uint8(vf)&flagMask == droppedFirst {
		v = 0
	}
	return v
}

// vfLink reports whether a record's vf word is a link's (see ForkRun).
func vfLink(vf uint64) bool { return uint8(vf)&flagMask == flagLink }

// linkAt is a link record's loc: the version its source is read at.
func (r *rec) linkAt() uint64 { return atomic.LoadUint64(r.locp()) & MaxVersion }

func (r *rec) record() Record { return r.recordOf(atomic.LoadUint64(r.vfp())) }

// recordOf is record with the record's vf word already loaded. Each
// return builds its Record in one literal: a Record (five fields) lives
// in memory, and a copy of one built field by field reloaded its 8-byte
// stores with 16-byte loads, which wait for the stores to retire (a
// store-forwarding stall, about half of Chain.At's time on keys in the
// cache).
func (r *rec) recordOf(vf uint64) Record {
	v := vfVersion(vf)
	if v == 0 {
		return Record{} // dropped: the timestamp's bits went with it
	}
	loc := atomic.LoadUint64(r.locp())
	ts := int64(*r.ts32()) | int64(vf>>vfTSShift)<<32 | int64(loc>>locTSShift)<<45
	if vfLink(vf) {
		return Record{Version: v, Timestamp: ts, Field: int64(loc & MaxVersion), Flags: uint8(vf & 7)}
	}
	return Record{Version: v, Timestamp: ts, Field: int64(loc & MaxOffset), Segment: uint32(loc >> locSegShift & MaxSegment), Flags: uint8(vf & 7)}
}

// set writes x, which fits, into r. For a link (see ForkRun), x.Field is
// the version the source is read at; the caller writes its source.
func (r *rec) set(x Record) {
	ts := uint64(x.Timestamp)
	*r.vfp() = x.Version<<vfVersionShift | uint64(x.Flags&flagMask) | ts>>32<<vfTSShift
	loc := uint64(x.Segment)<<locSegShift | uint64(x.Field)
	if x.Link() {
		loc = uint64(x.Field)
	}
	*r.locp() = loc | ts>>45<<locTSShift
	*r.ts32() = uint32(ts)
}

// recBytes is the size of record x in the arena.
func recBytes(x Record) int {
	if x.Link() {
		return recSize + linkSize
	}
	return recSize
}

func fits(x Record) bool {
	return x.Version <= MaxVersion && x.Timestamp >= 0 && x.Timestamp <= MaxTimestamp &&
		x.Segment <= MaxSegment && x.Field >= 0 && x.Field <= MaxOffset && x.Flags&FlagCodecMask != FlagCodecMask // codec 3: links and droppedFirst
}

const (
	maxHeight  = 20
	nodeHeader = 8
	recSize    = 24
	skipSize   = 4 // a later version's skip word, before its record

	unitShift  = 2 // refs count 4-byte units
	chunkShift = 21
	chunkBytes = 1 << chunkShift
	chunkUnits = chunkBytes >> unitShift
	maxRef     = 1<<32 - 1
)

type chunk [chunkBytes]byte

// arena hands out 4-byte aligned space in chunks. Only the writer
// allocates; readers turn refs into pointers. On Unix the chunks are
// mapped memory outside the Go heap (newChunk), so that the garbage
// collector neither scans them nor counts them in the heap it lets grow
// before a collection, and so that a chunk freed goes back to the system
// at once; they are freed by Index.Close, or when the Index becomes
// unreachable.
type arena struct {
	chunks atomic.Pointer[[]*chunk]
	next   uint64 // the next free unit
}

// free releases every chunk; the arena is empty afterwards.
func (a *arena) free() {
	cs := a.chunks.Swap(nil)
	if cs == nil {
		return
	}
	for _, c := range *cs {
		freeChunk(c)
	}
}

// at returns a pointer to the memory at ref.
func (a *arena) at(ref uint32) unsafe.Pointer {
	c := (*a.chunks.Load())[ref/chunkUnits]
	return unsafe.Pointer(&c[(ref%chunkUnits)<<unitShift])
}

// alloc returns a ref to size bytes of zeroed memory, or 0 if the arena is
// full.
func (a *arena) alloc(size int) uint32 {
	units := uint64(size+3) >> unitShift
	if a.next%chunkUnits+units > chunkUnits {
		a.next += chunkUnits - a.next%chunkUnits // the rest of this chunk stays unused
	}
	if a.next+units > maxRef {
		return 0
	}
	cs := a.chunks.Load()
	if n := a.next / chunkUnits; cs == nil || n >= uint64(len(*cs)) {
		var grown []*chunk
		if cs != nil {
			grown = append(grown, *cs...)
		}
		c := newChunk()
		if c == nil {
			return 0
		}
		if cs != nil && offHeap {
			// Huge pages from the second chunk on: a small index (most
			// of a test run's) would pay for zeroing 2 MiB at its first
			// write, and gains nothing. Never for Go heap memory (off
			// Unix and under -race), which the runtime reuses.
			hugePages(unsafe.Pointer(c), chunkBytes)
		}
		grown = append(grown, c)
		a.chunks.Store(&grown)
	}
	ref := uint32(a.next)
	a.next += units
	return ref
}

// held returns the bytes of chunk memory allocated.
func (a *arena) held() int64 {
	cs := a.chunks.Load()
	if cs == nil {
		return 0
	}
	return int64(len(*cs)) * chunkBytes
}

// table is the hash table: node refs, 0 for a free slot, and beside each
// a tag, the top byte of its key's hash, so that a probe loads a node only
// when the tags match (1 time in 256 for another key).
type table struct {
	slots []uint32
	tags  []uint8
	size  uint64
	// unmapped is set once a mapped table's memory is unmapped (nil for
	// a table on the heap); mapping and cleanup are what unmaps it (see
	// mapTable, release).
	unmapped *atomic.Bool
	mapping  any
	cleanup  runtime.Cleanup
}

// newTable returns an empty table of size slots. On Unix (but under
// -race) a table of 64 KiB or more is mapped outside the Go heap, on huge
// pages from 2 MiB (see mapTable), so that the collector does not count
// it in the heap it lets grow between collections: a table on the heap
// of 1M keys (7 to 10 MB) let the heap's garbage grow by as much. Readers
// may hold a table the writer replaced, so a mapped table is unmapped
// only once it is unreachable, by a cleanup the collector runs; a reader
// keeps the table it loaded reachable until it is done with its slots.
// (So replaced tables, up to about twice the current one's size in all,
// stay mapped until the next collection, which a process that allocates
// nothing on the heap may not run for two minutes; Close unmaps the
// index's own table at once.) Smaller tables, and all of them
// elsewhere, come from the heap.
func newTable(size int) *table {
	if t := mapTable(size); t != nil {
		return t
	}
	return &table{slots: make([]uint32, size), tags: make([]uint8, size), size: uint64(size)}
}

// home is the slot where a probe for hash starts: the hash's low 32 bits
// scaled to the table's size (the tag is its top byte).
func (t *table) home(hash uint64) uint64 { return uint64(uint32(hash)) * t.size >> 32 }

// after is the slot a probe goes on to after slot i.
func (t *table) after(i uint64) uint64 {
	if i++; i == t.size {
		return 0
	}
	return i
}

// grownSize is the size of the table that replaces one of size slots
// when it is three quarters full: half as large again, a multiple of 64.
// (Doubling would leave the table between 3/8 and 3/4 full, 6.7 to 13.3
// bytes a key; growing by half keeps it between 1/2 and 3/4, 6.7 to 10,
// for a second rehash of each key on average.)
func grownSize(size int) int { return (size + size/2 + 63) &^ 63 }

func tagOf(hash uint64) uint8 { return uint8(hash >> 56) }

// Index is the ordered, concurrent (run, key) -> versions map.
type Index struct {
	mem    *arena
	head   uint32 // the skiplist's head node: run 0, empty key
	height atomic.Int32
	hash   atomic.Pointer[table]

	runs   sync.Map // run name -> run number
	names  sync.Map // run number -> run name
	nruns  uint32   // writer only
	recent atomic.Pointer[runName]

	// New keys are linked into the skiplist off the writer's path (see
	// "Linking" in the package doc): pending holds nodes in the hash
	// table but not yet in the skiplist, and linkMu is held by whoever
	// links them (the linker goroutine, a Seek catching up, or a writer
	// that found too many pending).
	pendMu   sync.Mutex
	pending  []uint32
	spare    []uint32
	npending atomic.Int64
	linker   bool // a linker goroutine runs; under pendMu
	closed   bool // Close was called; under pendMu
	linkMu   sync.Mutex
	// lanePreds is linkSorted's scratch: predecessors found (linkMu).
	lanePreds *[window][maxHeight]uint32
	// sortBuf and sortTmp are sortKeys's scratch (linkMu).
	sortBuf, sortTmp []keysort.Key

	// sources counts, for each node a fork's link points at, the links
	// that do (see Chain.Linked).
	srcMu   sync.Mutex
	sources map[uint32]int

	keys     atomic.Int64 // nodes
	live     atomic.Int64 // nodes whose newest version is not a tombstone
	versions atomic.Int64
}

type runName struct {
	name string
	n    uint32
}

// New returns an empty index.
func New() *Index {
	ix := &Index{mem: &arena{next: 1}} // ref 0 is nil
	runtime.AddCleanup(ix, (*arena).free, ix.mem)
	ix.head = ix.mem.alloc(nodeSize(maxHeight, 0, Record{}))
	ix.node(ix.head).h = maxHeight
	ix.height.Store(1)
	ix.hash.Store(newTable(1024))
	return ix
}

// node is the fixed part of a node; tower, key and first version follow it
// in the arena.
type node struct {
	run  uint32
	h    uint8
	_    uint8
	klen uint16
}

// recAt is where a node's first version starts: after its header, tower
// and key, at a multiple of 4.
func recAt(h, klen int) int { return (nodeHeader + 4*h + klen + 3) &^ 3 }

// nodeSize is the size of a node whose first version is x.
func nodeSize(h, klen int, x Record) int { return recAt(h, klen) + recBytes(x) }

// first returns node ref's first version.
func (ix *Index) first(ref uint32) *rec {
	p := ix.mem.at(ref)
	n := (*node)(p)
	return (*rec)(unsafe.Add(p, recAt(int(n.h), int(n.klen))))
}

func (ix *Index) node(ref uint32) *node { return (*node)(ix.mem.at(ref)) }

func (ix *Index) rec(ref uint32) *rec { return (*rec)(ix.mem.at(ref)) }

// next returns the link of node ref at lvl.
func (ix *Index) next(ref uint32, lvl int) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Add(ix.mem.at(ref), nodeHeader+4*lvl)))
}

func (ix *Index) setNext(ref uint32, lvl int, to uint32) {
	atomic.StoreUint32((*uint32)(unsafe.Add(ix.mem.at(ref), nodeHeader+4*lvl)), to)
}

// key returns a view of node ref's key bytes.
func (ix *Index) key(ref uint32) []byte {
	p := ix.mem.at(ref)
	n := (*node)(p)
	return unsafe.Slice((*byte)(unsafe.Add(p, nodeHeader+4*int(n.h))), n.klen)
}

// compare compares node ref with (run, key).
func (ix *Index) compare(ref uint32, run uint32, key string) int {
	n := ix.node(ref)
	if n.run != run {
		if n.run < run {
			return -1
		}
		return 1
	}
	k := ix.key(ref)
	return strings.Compare(unsafe.String(unsafe.SliceData(k), len(k)), key)
}

// comparePrefixedAt is compare of the node at p, for a key whose first
// 16 bytes, if it has as many, are k0 and k1 (big-endian): where both
// keys have 16 bytes it compares them as two integers first, which
// settles most comparisons without a call.
func comparePrefixedAt(p unsafe.Pointer, run uint32, key string, k0, k1 uint64) int {
	n := (*node)(p)
	if n.run != run {
		if n.run < run {
			return -1
		}
		return 1
	}
	k := unsafe.Slice((*byte)(unsafe.Add(p, nodeHeader+4*int(n.h))), n.klen)
	if len(k) >= 16 && len(key) >= 16 {
		if a := binary.BigEndian.Uint64(k); a != k0 {
			return cmp.Compare(a, k0)
		}
		if a := binary.BigEndian.Uint64(k[8:]); a != k1 {
			return cmp.Compare(a, k1)
		}
	}
	return strings.Compare(unsafe.String(unsafe.SliceData(k), len(k)), key)
}

// runNumber returns the number of a run the index has met.
func (ix *Index) runNumber(run string) (uint32, bool) {
	if r := ix.recent.Load(); r != nil && r.name == run {
		return r.n, true
	}
	v, ok := ix.runs.Load(run)
	if !ok {
		return 0, false
	}
	n := v.(uint32)
	ix.recent.Store(&runName{name: strings.Clone(run), n: n})
	return n, true
}

func hashOf(run uint32, key string) uint64 {
	h := xxhash.Sum64String(key) ^ uint64(run)*0x9E3779B97F4A7C15
	return h ^ h>>29
}

// lookup returns the node of (run, key), or 0.
func (ix *Index) lookup(run uint32, key string) uint32 {
	ref, _ := ix.probe(ix.hash.Load(), hashOf(run, key), run, key)
	return ref
}

// probe looks for (run, key), whose hash is hash, in t: it returns its
// node, or 0 and the free slot where the probe ended.
func (ix *Index) probe(t *table, hash uint64, run uint32, key string) (ref uint32, free uint64) {
	tag := tagOf(hash)
	for i := t.home(hash); ; i = t.after(i) {
		ref := atomic.LoadUint32(&t.slots[i])
		if ref == 0 {
			// A mapped table is unmapped once unreachable (newTable):
			// t stays reachable until its slots and tags are read (a
			// KeepAlive where they are read last, not a defer on the
			// hottest path).
			runtime.KeepAlive(t)
			return 0, i
		}
		if t.tags[i] != tag {
			continue
		}
		runtime.KeepAlive(t)
		n := ix.node(ref)
		if n.run == run && int(n.klen) == len(key) {
			k := ix.key(ref)
			if unsafe.String(unsafe.SliceData(k), len(k)) == key {
				return ref, 0
			}
		}
	}
}

// findGE returns the first node >= (run, key), or 0, filling preds (if not
// nil) with the last node < (run, key) at each level.
func (ix *Index) findGE(run uint32, key string, preds *[maxHeight]uint32) uint32 {
	x := ix.head
	for lvl := int(ix.height.Load()) - 1; lvl >= 0; lvl-- {
		for {
			next := ix.next(x, lvl)
			if next == 0 || ix.compare(next, run, key) >= 0 {
				break
			}
			x = next
		}
		if preds != nil {
			preds[lvl] = x
		}
	}
	return ix.next(x, 0)
}

func randomHeight() int {
	// p = 1/4: two random bits per level.
	h := 1 + bits.TrailingZeros64(rand.Uint64()|1<<(2*maxHeight-2))/2
	return min(h, maxHeight)
}

// Prefetch asks for the hash table slot of (run, key) to be brought into
// the cache, so that an Add of it soon after, by the same goroutine, does
// not wait for the load: a writer adding many keys prefetches a few keys
// ahead, and their cache misses overlap. It changes nothing.
func (ix *Index) Prefetch(run, key string) {
	rn, ok := ix.runNumber(run)
	if !ok {
		return
	}
	t := ix.hash.Load()
	prefetch.Line(unsafe.Pointer(&t.slots[t.home(hashOf(rn, key))]))
	runtime.KeepAlive(t) // where Line loads (see probe)
}

// AddBytes is Add for a key held in a byte slice (a mapped segment, during
// recovery). The index copies the key into its arena when it meets it
// first and keeps no reference to key.
func (ix *Index) AddBytes(run string, key []byte, r Record) error {
	return ix.Add(run, unsafe.String(unsafe.SliceData(key), len(key)), r)
}

// Add records a new version of (run, key). Only one goroutine may call Add
// at a time. r.Version must exceed every version already held for the key
// (else ErrNotNewer), and r must be within the index's limits (else
// ErrRange or ErrFull); on an error Add changes nothing. Add keeps no
// reference to run or key.
func (ix *Index) Add(run, key string, r Record) error {
	if !fits(r) || len(key) > MaxKeyLen {
		return ErrRange
	}
	return ix.add(run, key, r, 0)
}

// add is Add of a record already checked, or of a link whose source is
// node src.
func (ix *Index) add(run, key string, r Record, src uint32) error {
	rn, ok := ix.runNumber(run)
	if !ok {
		if ix.nruns == 1<<32-1 {
			return ErrFull
		}
		ix.nruns++
		rn = ix.nruns
		name := strings.Clone(run)
		ix.names.Store(rn, name)
		ix.runs.Store(name, rn)
	}
	t := ix.hash.Load()
	hash := hashOf(rn, key)
	ref, free := ix.probe(t, hash, rn, key)
	if ref != 0 {
		return ix.addVersion(ref, r, src)
	}
	if err := ix.insert(rn, key, r, src, t, hash, free); err != nil {
		return err
	}
	if !r.Tombstone() {
		ix.live.Add(1)
	}
	ix.versions.Add(1)
	return nil
}

func (ix *Index) addVersion(ref uint32, r Record, src uint32) error {
	first := ix.first(ref)
	head := atomic.LoadUint32(&first.link)
	prev := first
	if head != 0 {
		prev = ix.rec(head)
	}
	if prev.version() >= r.Version {
		return ErrNotNewer
	}
	pvf := atomic.LoadUint64(prev.vfp())
	wasLive := pvf != 0 && pvf&uint64(FlagTombstone) == 0
	nr := ix.mem.alloc(skipSize + recBytes(r))
	if nr == 0 {
		return ErrFull
	}
	nr += skipSize >> unitShift
	x := ix.rec(nr)
	x.set(r)
	if r.Link() {
		*x.src() = src
	}
	if prev != first {
		*x.skip() = prev.link
	}
	x.link = head
	atomic.StoreUint32(&first.link, nr)

	switch isLive := !r.Tombstone(); {
	case isLive && !wasLive:
		ix.live.Add(1)
	case !isLive && wasLive:
		ix.live.Add(-1)
	}
	ix.versions.Add(1)
	return nil
}

// insert adds a node for (run, key), whose hash is hash and which probe
// did not find in t, ending at slot free.
func (ix *Index) insert(run uint32, key string, r Record, src uint32, t *table, hash, free uint64) error {
	h := randomHeight()
	ref := ix.mem.alloc(nodeSize(h, len(key), r))
	if ref == 0 {
		return ErrFull
	}
	if grow := uint64(ix.keys.Load()+1)*4 > uint64(len(t.slots))*3; grow {
		t = ix.grow(t)
		_, free = ix.probe(t, hash, run, key)
	}
	n := ix.node(ref)
	n.run, n.h, n.klen = run, uint8(h), uint16(len(key))
	copy(ix.key(ref), key)
	first := ix.first(ref)
	first.set(r)
	if r.Link() {
		*first.src() = src
	}

	t.tags[free] = tagOf(hash)
	atomic.StoreUint32(&t.slots[free], ref)
	ix.keys.Add(1)
	ix.pendMu.Lock()
	if ix.closed {
		ix.pendMu.Unlock()
		return ErrClosed
	}
	ix.pending = append(ix.pending, ref)
	np := ix.npending.Add(1)
	start := !ix.linker && np >= linkMin
	ix.linker = ix.linker || start
	ix.pendMu.Unlock()
	if start {
		go ix.linkLoop()
	}
	if np > maxPending {
		ix.linkPending() // the linker is behind: help it
	}
	return nil
}

// maxPending is how many new keys may wait for the linker before the
// writer links them itself.
const maxPending = 1 << 16

// linkMin is how many new keys wait before the linker starts: it links
// a batch of them for less per key than a few (neighbours share more of
// their search, and the lanes of findPreds have keys to overlap). It is
// small because a Seek links whatever waits itself: at most linkMin
// keys, about 1.5 ms, when the linker is not running.
const linkMin = 1 << 10

// linkLoop links pending nodes until none is left.
func (ix *Index) linkLoop() {
	for {
		ix.linkMu.Lock()
		n := ix.linkBatch()
		ix.linkMu.Unlock()
		if n == 0 {
			return
		}
	}
}

// linkPending links every node pending when it is called.
func (ix *Index) linkPending() {
	if ix.npending.Load() == 0 {
		return
	}
	ix.linkMu.Lock()
	defer ix.linkMu.Unlock()
	for ix.npending.Load() > 0 && ix.linkBatch() > 0 {
	}
}

// linkBatch takes the pending nodes and links them, in key order (nodes
// close in key order share search paths, so that most of the nodes a
// search visits are already in the cache). With linkMu held. It returns
// how many it linked; with none pending, it ends the linker goroutine's
// turn (the next new key starts another).
func (ix *Index) linkBatch() int {
	ix.pendMu.Lock()
	batch := ix.pending
	ix.pending = ix.spare[:0]
	ix.spare = nil
	if len(batch) == 0 {
		ix.linker = false
	}
	ix.pendMu.Unlock()
	if len(batch) == 0 {
		ix.pendMu.Lock()
		ix.spare = batch
		ix.pendMu.Unlock()
		return 0
	}
	if len(batch) > 1 {
		ix.sortRefs(batch)
	}
	ix.linkSorted(batch)
	ix.npending.Add(-int64(len(batch)))
	ix.pendMu.Lock()
	if cap(batch) > cap(ix.spare) {
		ix.spare = batch[:0]
	}
	ix.pendMu.Unlock()
	return len(batch)
}

// linkSorted links nodes given in key order, a window of them at a
// time. For each window it first finds every key's predecessors in the
// list as it stands (findPreds: searches in lanes, so that their cache
// misses overlap), then links the window's keys in order, each after
// the later of its predecessor found and the window's last key linked
// at that level.
func (ix *Index) linkSorted(batch []uint32) {
	if ix.lanePreds == nil {
		ix.lanePreds = new([window][maxHeight]uint32)
	}
	found := ix.lanePreds
	for w := 0; w < len(batch); w += window {
		win := batch[w:min(w+window, len(batch))]
		ix.findPreds(win, found)
		// last[l] is the window's last node linked at level l, and
		// lastFound[l] the predecessor findPreds gave it. A later key
		// with the same predecessor at l comes after last[l]; one with
		// another predecessor found comes after that one, which is then
		// beyond last[l] (predecessors found never decrease).
		var last, lastFound, preds [maxHeight]uint32
		for i, ref := range win {
			h := int(ix.node(ref).h)
			for l := range h {
				preds[l] = found[i][l]
				if last[l] != 0 && preds[l] == lastFound[l] {
					preds[l] = last[l]
				}
			}
			ix.link(ref, h, &preds)
			for l := range h {
				last[l], lastFound[l] = ref, found[i][l]
			}
		}
	}
}

// window is the most keys findPreds searches for at once: lanes lanes
// of window/lanes consecutive keys each.
const (
	lanes  = 8
	window = lanes * 32
)

// lane is one of findPreds's searches.
type lane struct {
	i, end int    // the key searched for, and the end of the lane's keys
	run    uint32 // the key's run
	key    string
	lvl    int  // the level searched
	top    int  // in the climb, the highest level whose successor is < key
	up     bool // climbing (finger search) rather than descending
	x      uint32
	xp     unsafe.Pointer // x's node
	k0, k1 uint64         // the key's first 16 bytes, big-endian, if it has as many
	preds  [maxHeight]uint32
}

// findPreds fills found[i][l], for each level l below the height of
// node win[i], with its predecessor at l in the list (the head at levels
// the list does not reach yet). win is in key order and not linked. Its
// keys are split among lanes of consecutive keys; each lane searches its
// keys in order, each search starting from where the one before ended (a
// finger search: levels whose successor lies beyond the new key keep
// their predecessors, and only the levels below are searched again),
// the first from the head. The lanes take one step each in turn, and
// each round first touches the node every lane will compare next, so
// that their cache misses, the whole cost of a search through a list of
// millions, overlap.
func (ix *Index) findPreds(win []uint32, found *[window][maxHeight]uint32) {
	// The chunks the window's nodes and the list's lie in: loaded once
	// (only the writer adds chunks, and every node here is older than
	// the call).
	v := view(*ix.mem.chunks.Load())
	var ls [lanes]lane
	height := int(ix.height.Load())
	per := (len(win) + lanes - 1) / lanes
	active := 0
	for j := range ls {
		l := &ls[j]
		l.i, l.end = min(j*per, len(win)), min((j+1)*per, len(win))
		if l.i < l.end {
			ix.startKey(l, v, win, height, true)
			active++
		}
	}
	var next [lanes]uint32
	var nextp [lanes]unsafe.Pointer
	var sink uint32
	for active > 0 {
		for j := range ls {
			l := &ls[j]
			if l.i >= l.end {
				continue
			}
			from := l.xp
			if l.up {
				from = v.at(l.preds[l.lvl])
			}
			n := atomic.LoadUint32((*uint32)(unsafe.Add(from, nodeHeader+4*l.lvl)))
			next[j] = n
			if n != 0 {
				// Touch the node (its header and a short key) so that
				// the lanes' loads are in flight together.
				p := v.at(n)
				nextp[j] = p
				sink += touch(p)
			}
		}
		for j := range ls {
			l := &ls[j]
			if l.i >= l.end {
				continue
			}
			n := next[j]
			before := n != 0 && comparePrefixedAt(nextp[j], l.run, l.key, l.k0, l.k1) < 0
			if l.up {
				if before {
					l.top = l.lvl
					if l.lvl++; l.lvl < height {
						continue
					}
				}
				if l.top < 0 {
					ix.doneKey(l, v, win, found, height)
					if l.i >= l.end {
						active--
					}
					continue
				}
				l.up, l.lvl = false, l.top
				l.x = l.preds[l.top]
				l.xp = v.at(l.x)
				continue
			}
			if before {
				l.x, l.xp = n, nextp[j]
				continue
			}
			l.preds[l.lvl] = l.x
			if l.lvl--; l.lvl < 0 {
				ix.doneKey(l, v, win, found, height)
				if l.i >= l.end {
					active--
				}
			}
		}
	}
	touched.Add(sink)
}

// view is the arena's chunks as loaded once, for a search that turns
// many refs into pointers.
type view []*chunk

func (v view) at(ref uint32) unsafe.Pointer {
	return unsafe.Pointer(&v[ref/chunkUnits][(ref%chunkUnits)<<unitShift])
}

// touch loads the first 28 bytes of a node (its header, and the tower
// and key of a short one) and returns something of them, for a caller
// that wants the node in the cache before it needs it. The loads are
// atomic: the tower may be being linked.
func touch(p unsafe.Pointer) uint32 {
	return atomic.LoadUint32((*uint32)(p)) + atomic.LoadUint32((*uint32)(unsafe.Add(p, 24)))
}

// touched keeps touches from being optimised away.
var touched atomic.Uint32

// startKey sets lane l to search for win[l.i]: from the head for its
// first key, else from the predecessors of the key before.
func (ix *Index) startKey(l *lane, v view, win []uint32, height int, first bool) {
	p := v.at(win[l.i])
	n := (*node)(p)
	k := unsafe.Slice((*byte)(unsafe.Add(p, nodeHeader+4*int(n.h))), n.klen)
	l.run, l.key = n.run, unsafe.String(unsafe.SliceData(k), len(k))
	if len(k) >= 16 {
		l.k0, l.k1 = binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(k[8:])
	}
	if first {
		l.up, l.x, l.xp, l.lvl = false, ix.head, v.at(ix.head), height-1
		return
	}
	l.up, l.lvl, l.top = true, 0, -1
}

// doneKey records the predecessors lane l found for win[l.i] and moves
// it to its next key.
func (ix *Index) doneKey(l *lane, v view, win []uint32, found *[window][maxHeight]uint32, height int) {
	h := int((*node)(v.at(win[l.i])).h)
	for lvl := range h {
		if lvl < height {
			found[l.i][lvl] = l.preds[lvl]
		} else {
			found[l.i][lvl] = ix.head
		}
	}
	if l.i++; l.i < l.end {
		ix.startKey(l, v, win, height, false)
	}
}

// put stores ref, whose key has the hash, in the first free slot of t
// from hash on.
func put(t *table, hash uint64, ref uint32) {
	for i := t.home(hash); ; i = t.after(i) {
		if t.slots[i] == 0 {
			t.tags[i] = tagOf(hash)
			atomic.StoreUint32(&t.slots[i], ref)
			return
		}
	}
}

// grow publishes a table of grownSize holding t's nodes.
// Rehashing reads every node's key, a cache miss each in an index of
// millions, so it goes a group of 32 at a time: it prefetches the
// group's nodes first, so that their misses overlap, then hashes their
// keys and prefetches the slots they go to, then puts them. (Loads in
// place of the prefetches, 16 at a time: 64 ns a key at 1M keys, against
// 48.)
func (ix *Index) grow(t *table) *table {
	nt := newTable(grownSize(len(t.slots)))
	var refs [32]uint32
	var hashes [32]uint64
	n := 0
	flush := func() {
		for j := range n {
			p := ix.mem.at(refs[j])
			prefetch.Line(p)
			prefetch.Line(unsafe.Add(p, 24)) // a short key's end
		}
		for j := range n {
			nd := ix.node(refs[j])
			k := ix.key(refs[j])
			hashes[j] = hashOf(nd.run, unsafe.String(unsafe.SliceData(k), len(k)))
			prefetch.Line(unsafe.Pointer(&nt.slots[nt.home(hashes[j])]))
		}
		for j := range n {
			put(nt, hashes[j], refs[j])
		}
		n = 0
	}
	for _, ref := range t.slots {
		if ref != 0 {
			refs[n] = ref
			if n++; n == len(refs) {
				flush()
			}
		}
	}
	flush()
	ix.hash.Store(nt)
	return nt
}

// Close frees the index's memory, after waiting for the linker. No other
// method may be called during or after Close but Counts and Bytes (which
// then reports 0). An Index that becomes unreachable is freed too.
func (ix *Index) Close() {
	ix.pendMu.Lock()
	ix.closed = true
	ix.pending = nil
	ix.npending.Store(0)
	ix.pendMu.Unlock()
	ix.linkMu.Lock()
	defer ix.linkMu.Unlock()
	ix.mem.free()
	// No reader may hold the table now: unmap it at once rather than at
	// some later collection (a mapped table does not hasten one).
	ix.hash.Swap(newTable(1)).release()
}

// Chains calls fn for every key's chain, in no particular order, until fn
// returns false. Keys added meanwhile may be missed. It may run beside Add
// and the readers.
func (ix *Index) Chains(fn func(Chain) bool) {
	t := ix.hash.Load()
	defer runtime.KeepAlive(t) // see probe
	for i := range t.slots {
		if ref := atomic.LoadUint32(&t.slots[i]); ref != 0 && !fn(Chain{ix: ix, ref: ref}) {
			return
		}
	}
}

// Find returns the versions of (run, key); ok is false if the index has
// never held the key.
func (ix *Index) Find(run, key string) (c Chain, ok bool) {
	rn, ok := ix.runNumber(run)
	if !ok {
		return Chain{}, false
	}
	ref := ix.lookup(rn, key)
	return Chain{ix: ix, ref: ref}, ref != 0
}

// Get returns the newest version of (run, key) at or below snap.
func (ix *Index) Get(run, key string, snap uint64) (Record, bool) {
	c, ok := ix.Find(run, key)
	if !ok {
		return Record{}, false
	}
	return c.At(snap)
}

// Counts reports the number of keys, of live keys (newest version not a
// tombstone, counting versions not yet visible) and of versions.
func (ix *Index) Counts() (keys, live, versions int64) {
	return ix.keys.Load(), ix.live.Load(), ix.versions.Load()
}

// Bytes returns the memory the index holds: its arena chunks and its hash
// table (the run names, a few bytes per run, are not counted).
func (ix *Index) Bytes() int64 {
	held := ix.mem.held()
	if held == 0 {
		return 0 // closed
	}
	return held + int64(len(ix.hash.Load().slots))*5
}

// Chain is the versions of one key. The zero Chain holds none.
type Chain struct {
	ix  *Index
	ref uint32
}

// ID returns a number that names the chain's key among the keys of its
// index for as long as the index is open (0 for the zero Chain): a map
// keyed by it is smaller and faster than one keyed by the Chain.
func (c Chain) ID() uint32 { return c.ref }

// Key returns the chain's key (without its run), in memory of its own.
func (c Chain) Key() string {
	defer runtime.KeepAlive(c.ix) // its arena holds the view until cloned
	return strings.Clone(c.KeyView())
}

// KeyView returns the chain's key as a view of the index's memory: no
// copy, but valid only until the Index is closed (or unreachable), so it
// must not outlive the call that asked for it.
func (c Chain) KeyView() string {
	if c.ref == 0 {
		return ""
	}
	k := c.ix.key(c.ref)
	return unsafe.String(unsafe.SliceData(k), len(k))
}

// HasPrefix reports whether the chain's key starts with prefix.
func (c Chain) HasPrefix(prefix string) bool {
	defer runtime.KeepAlive(c.ix)
	return c.ref != 0 && bytes.HasPrefix(c.ix.key(c.ref), unsafe.Slice(unsafe.StringData(prefix), len(prefix)))
}

// Run returns the chain's run.
func (c Chain) Run() string {
	if c.ref == 0 {
		return ""
	}
	name, _ := c.ix.names.Load(c.ix.node(c.ref).run)
	return name.(string)
}

// newest returns the chain's newest version record and its first.
func (c Chain) newest() (newest, first *rec) {
	first = c.ix.first(c.ref)
	newest = first
	if head := atomic.LoadUint32(&first.link); head != 0 {
		newest = c.ix.rec(head)
	}
	if newest.version() == 0 {
		return nil, first // every version is gone
	}
	return newest, first
}

// older returns the record after r in the chain whose first version is
// first, or nil (at the end, or where the rest is gone).
func (c Chain) older(r, first *rec) *rec {
	if r == first {
		return nil
	}
	o := first
	if r.link != 0 {
		o = c.ix.rec(r.link)
		if s := *r.skip(); s != 0 {
			// The record after o: its miss overlaps o's, so that a walk
			// down a long chain waits for every other record, not each.
			prefetch.Line(c.ix.mem.at(s))
		}
	}
	if o.version() == 0 {
		return nil
	}
	return o
}

// At returns the newest version at or below snap. Where that is a link,
// it is the source's version the link stands for.
func (c Chain) At(snap uint64) (Record, bool) {
	if c.ref == 0 {
		return Record{}, false
	}
	defer runtime.KeepAlive(c.ix) // its arena holds r
	// The node and its first version from one lookup of the arena's
	// chunks (first and newest would each make their own); a key of one
	// version, most keys, then needs no other load.
	p := c.ix.mem.at(c.ref)
	first := (*rec)(unsafe.Add(p, recAt(int((*node)(p).h), int((*node)(p).klen))))
	r := first
	if head := atomic.LoadUint32(&first.link); head != 0 {
		r = c.ix.rec(head)
	}
	for ; r != nil; r = c.older(r, first) {
		vf := atomic.LoadUint64(r.vfp())
		v := vfVersion(vf)
		if v == 0 {
			break // dropped (every version, or since older looked)
		}
		if v <= snap {
			if vfLink(vf) {
				return c.source(r).At(r.linkAt())
			}
			return r.recordOf(vf), true
		}
	}
	return Record{}, false
}

// source returns the chain a link record points at.
func (c Chain) source(link *rec) Chain { return Chain{ix: c.ix, ref: *link.src()} }

// Newest returns the newest version, visible or not (through a link, the
// source's version it stands for); ok is false when the chain holds none
// (all dropped).
func (c Chain) Newest() (Record, bool) {
	if c.ref == 0 {
		return Record{}, false
	}
	defer runtime.KeepAlive(c.ix)
	r, _ := c.newest()
	if r == nil {
		return Record{}, false
	}
	x := r.record()
	if x.Link() {
		return c.source(r).At(uint64(x.Field))
	}
	return x, x.Version != 0
}

// Changed returns the version of the chain's newest record, visible or
// not, links and DeleteRun's deletions included: the last version that
// changed the key (0: none). Conflict checks use it; a link's source
// versions, which Newest returns, may be older than the fork.
func (c Chain) Changed() uint64 {
	if c.ref == 0 {
		return 0
	}
	defer runtime.KeepAlive(c.ix)
	r, _ := c.newest()
	if r == nil {
		return 0
	}
	return r.version()
}

// Versions calls fn for each version at or below snap, newest first,
// until fn returns false. At a link it goes on with the source's
// versions at or below the link's, and ends there: what the key held
// before the fork is hidden.
func (c Chain) Versions(snap uint64, fn func(Record) bool) {
	if c.ref == 0 {
		return
	}
	defer runtime.KeepAlive(c.ix)
	for c.ref != 0 {
		next := Chain{}
		r, first := c.newest()
		for ; r != nil; r = c.older(r, first) {
			// The checks read vf alone, and the record goes straight
			// to fn: a copy of it held in a variable stalls (see
			// recordOf).
			vf := atomic.LoadUint64(r.vfp())
			v := vfVersion(vf)
			if v == 0 {
				return // dropped since older looked
			}
			if v > snap {
				continue
			}
			if vfLink(vf) {
				next, snap = c.source(r), r.linkAt()
				break
			}
			if !fn(r.recordOf(vf)) {
				return
			}
		}
		c = next
	}
}

// Raw calls fn for each record of the chain, newest first, until fn
// returns false: links are not followed (compaction's view: what this
// chain itself holds).
func (c Chain) Raw(fn func(Record) bool) {
	if c.ref == 0 {
		return
	}
	defer runtime.KeepAlive(c.ix)
	r, first := c.newest()
	for ; r != nil; r = c.older(r, first) {
		x := r.record()
		if x.Version == 0 || !fn(x) {
			return
		}
	}
}

// Written reports whether the chain holds a record of version v, and
// returns it; a link is returned as the source's version it stands for
// (a deletion if that is gone).
func (c Chain) Written(v uint64) (Record, bool) {
	if c.ref == 0 {
		return Record{}, false
	}
	defer runtime.KeepAlive(c.ix)
	r := c.find(v)
	if r == nil {
		return Record{}, false
	}
	x := r.record()
	if x.Link() {
		if s, ok := c.source(r).At(uint64(x.Field)); ok {
			return s, true
		}
		return Record{Version: v, Timestamp: x.Timestamp, Flags: FlagTombstone}, true
	}
	return x, true
}

// DeleteRun adds a deletion of version v, committed at ts, to every key
// of run live at its newest version, and returns how many it deleted.
// The deletions are synthetic: they stand for one record of the caller's
// (Segment 0, no stored value). Only the writer calls it, with v above
// every version the run's keys hold; on an error the keys deleted so far
// stay deleted.
func (ix *Index) DeleteRun(run string, v uint64, ts int64) (int, error) {
	if v > MaxVersion || ts < 0 || ts > MaxTimestamp {
		return 0, ErrRange
	}
	n := 0
	for it := ix.Seek(run, ""); it.Valid(); it.Next() {
		c := it.Chain()
		if x, ok := c.Newest(); !ok || x.Tombstone() {
			continue
		}
		if err := ix.addVersion(c.ref, Record{Version: v, Timestamp: ts, Flags: FlagTombstone}, 0); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ForkRun adds to run dst, at version v committed at ts, a link to each
// key of run src live at version at (< v): dst's key then reads as src's
// did at at, and its History goes on with src's versions up to at. It
// returns how many keys it linked. Only the writer calls it, with v
// above every version dst's keys hold; on an error the links added so far
// stay.
func (ix *Index) ForkRun(src, dst string, at, v uint64, ts int64) (int, error) {
	if v > MaxVersion || at >= v || ts < 0 || ts > MaxTimestamp {
		return 0, ErrRange
	}
	n := 0
	for it := ix.Seek(src, ""); it.Valid(); it.Next() {
		c := it.Chain()
		if x, ok := c.At(at); !ok || x.Tombstone() {
			continue
		}
		link := Record{Version: v, Timestamp: ts, Flags: flagLink, Field: int64(at)}
		if err := ix.add(dst, c.KeyView(), link, c.ref); err != nil {
			return n, err
		}
		ix.srcMu.Lock()
		if ix.sources == nil {
			ix.sources = map[uint32]int{}
		}
		ix.sources[c.ref]++
		ix.srcMu.Unlock()
		n++
	}
	return n, nil
}

// Relocate records that version v of the chain is now stored in segment
// seg with its field at offset off (compaction copied it there, the same
// bytes). It
// reports false if the chain does not hold v, or the place is beyond the
// index's limits. Readers see the old place or the new one; the caller
// keeps the old one readable until no reader can hold it. Relocate and
// Drop may run beside Add and the readers, one such caller at a time.
func (c Chain) Relocate(v uint64, seg uint32, off int64) bool {
	if c.ref == 0 || seg > MaxSegment || off < 0 || off > MaxOffset {
		return false
	}
	defer runtime.KeepAlive(c.ix)
	r := c.find(v)
	if r == nil || vfLink(atomic.LoadUint64(r.vfp())) {
		return false
	}
	loc := r.locp()
	atomic.StoreUint64(loc, atomic.LoadUint64(loc)&locTSMask|uint64(seg)<<locSegShift|uint64(off))
	return true
}

// Drop removes version v of the chain and every older one (compaction
// dropped them under the retention policy) and reports how many versions
// that removed, 0 if the chain does not hold v. Readers that already
// passed over them may still return them.
func (c Chain) Drop(v uint64) int {
	if c.ref == 0 {
		return 0
	}
	defer runtime.KeepAlive(c.ix)
	r := c.find(v)
	if r == nil {
		return 0
	}
	newest, first := c.newest()
	if newest == r && atomic.LoadUint64(r.vfp())&uint64(FlagTombstone) == 0 {
		c.ix.live.Add(-1)
	}
	n := 0
	for o := r; o != nil; o = c.older(o, first) {
		n++
		if o.record().Link() {
			c.ix.unlinked(*o.src())
		}
	}
	if r == first {
		// Its version stays for First.
		atomic.StoreUint64(r.vfp(), atomic.LoadUint64(r.vfp())|uint64(droppedFirst))
	} else {
		atomic.StoreUint64(r.vfp(), 0)
	}
	c.ix.versions.Add(int64(-n))
	return n
}

// unlinked notes that a link to the node src is gone.
func (ix *Index) unlinked(src uint32) {
	ix.srcMu.Lock()
	if ix.sources[src]--; ix.sources[src] <= 0 {
		delete(ix.sources, src)
	}
	ix.srcMu.Unlock()
}

// Trimmed reports whether Drop removed versions of the chain since the
// index was built: a walk down its versions ends at a dropped record
// instead of its first (a dropped record stays in the arena, linked, with
// its version cleared, or marked so where it is the node's first). A
// chain whose every version was dropped is
// trimmed; the zero Chain is not.
func (c Chain) Trimmed() bool {
	if c.ref == 0 {
		return false
	}
	defer runtime.KeepAlive(c.ix)
	r, first := c.newest()
	for r != nil {
		if r == first {
			return false
		}
		r = c.older(r, first)
	}
	return true // older found a dropped record, or newest found every one gone
}

// First returns the version of the chain's first record, the oldest it
// has held since the index was built, dropped or not (0 for the zero
// Chain). No version of the key below it was added to the index.
func (c Chain) First() uint64 {
	if c.ref == 0 {
		return 0
	}
	defer runtime.KeepAlive(c.ix)
	return atomic.LoadUint64(c.ix.first(c.ref).vfp()) >> vfVersionShift & MaxVersion
}

// Linked reports whether a fork's link points at the chain: a fork reads
// it (compaction then keeps what reads at the fork's version need).
func (c Chain) Linked() bool {
	if c.ref == 0 {
		return false
	}
	c.ix.srcMu.Lock()
	defer c.ix.srcMu.Unlock()
	return c.ix.sources[c.ref] > 0
}

// find returns the record of version v, or nil.
func (c Chain) find(v uint64) *rec {
	r, first := c.newest()
	for ; r != nil; r = c.older(r, first) {
		switch rv := r.version(); {
		case rv == v:
			return r
		case rv < v:
			return nil
		}
	}
	return nil
}

// Iterator walks the chains of one run in key order. It is a plain value;
// the zero Iterator is exhausted.
type Iterator struct {
	ix  *Index
	ref uint32
	run uint32
}

// Seek returns an iterator at the first key >= start in run. It first
// links the keys still waiting for the linker, so the iterator sees every
// key added before the call.
func (ix *Index) Seek(run, start string) Iterator {
	ix.linkPending()
	rn, ok := ix.runNumber(run)
	if !ok {
		return Iterator{}
	}
	it := Iterator{ix: ix, ref: ix.findGE(rn, start, nil), run: rn}
	it.check()
	return it
}

// Runs returns the names of the runs the index has met (a run stays
// known after its keys are gone), in no particular order.
func (ix *Index) Runs() []string {
	var runs []string
	ix.runs.Range(func(k, _ any) bool {
		runs = append(runs, k.(string))
		return true
	})
	return runs
}

// SeekLT returns an iterator at the last key < end in run (end "": the
// run's last key), to walk the run backwards with Prev. Like Seek, it
// first links the keys still waiting for the linker.
func (ix *Index) SeekLT(run, end string) Iterator {
	ix.linkPending()
	rn, ok := ix.runNumber(run)
	if !ok {
		return Iterator{}
	}
	var preds [maxHeight]uint32
	if end == "" {
		ix.findGE(rn+1, "", &preds) // the first key of any later run
	} else {
		ix.findGE(rn, end, &preds)
	}
	it := Iterator{ix: ix, ref: preds[0], run: rn}
	if it.ref == ix.head {
		it.ref = 0
	}
	it.check()
	return it
}

// Prev moves to the previous key of the run. The skiplist links forward
// only, so it searches from the top for the iterator's key: O(log n).
func (it *Iterator) Prev() {
	if it.ref == 0 {
		return
	}
	var preds [maxHeight]uint32
	k := it.ix.key(it.ref)
	it.ix.findGE(it.run, unsafe.String(unsafe.SliceData(k), len(k)), &preds)
	if it.ref = preds[0]; it.ref == it.ix.head {
		it.ref = 0
	}
	it.check()
}

func (it *Iterator) check() {
	if it.ref != 0 && it.ix.node(it.ref).run != it.run {
		it.ref = 0
	}
}

// Valid reports whether the iterator is at a chain.
func (it *Iterator) Valid() bool { return it.ref != 0 }

// Chain returns the chain the iterator is at.
func (it *Iterator) Chain() Chain { return Chain{ix: it.ix, ref: it.ref} }

// Next moves to the next key of the run.
func (it *Iterator) Next() {
	if it.ref != 0 {
		it.ref = it.ix.next(it.ref, 0)
		it.check()
	}
}
