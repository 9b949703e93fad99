package segment

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/cespare/xxhash/v2"
	"github.com/strata-kv/strata/internal/keysort"
	"github.com/strata-kv/strata/internal/offheap"
	"github.com/strata-kv/strata/internal/vfs"
)

// # Hint file
//
// A hint file, "<id>.hint" beside segment "<id>.seg", lists every entry
// of the sealed or compacted segment it describes without its value: what
// recovery needs to index the segment without reading its value bytes.
// Its entries are sorted by (run, key, version), bytewise, so recovery
// can merge the hints of all segments into an index laid out in key
// order in one pass. A hint is only an accelerator: one that is missing,
// fails its checksum, or does not match its segment (id, salt, size) is
// ignored and rebuilt from the segment. It is written with
// vfs.WriteFileAtomic after its segment is durable.
//
//	offset size  field
//	0      8     magic "STRATA\x00H"
//	8      4     hint format version, uint32 LE (1)
//	12     4     segment id, uint32 LE
//	16     8     the segment's salt, uint64 LE
//	24     8     the segment's size in bytes, uint64 LE: the hint describes
//	             exactly that many bytes of it
//	32     8     base version (the segment header's), uint64 LE
//	40     8     last version: of the segment's last commit (a log
//	             segment), or of the range it covers (a compacted one)
//	48     8     largest frame timestamp, int64 LE, Unix microseconds
//	56     8     frames holding entries, uint64 LE
//	64     8     entries (E), uint64 LE
//	72     8     distinct (run, key) pairs, uint64 LE
//	80     ...   E records, sorted by (run, key, version), strictly increasing
//	end-8  8     xxhash64 of every byte before it, uint64 LE
//
// A record:
//
//	1      flags: bits 0-1 op (1 put, 2 delete: a tombstone); bits 2-3 codec (0 for
//	       a tombstone); bit 4 set when a new run starts here (the first
//	       record always); bit 5 set when the record has the key of the
//	       record before (bits 4 and 5 are never both set); bits 6-7 zero
//	       a new run: uvarint R (1..MaxRunLen) and R bytes, after the run
//	       before
//	       a new key: uvarint P, the bytes it shares with the key before
//	       (0 after a new run), uvarint S and S more bytes (1 <= P+S <=
//	       MaxKeyLen), after the key before
//	1-10   uvarint version - base version; for the key before, version -
//	       its version - 1
//	1-10   uvarint zigzag(timestamp - the record before's timestamp; the
//	       first record: - 0)
//	1-10   uvarint offset of the stored value in the segment (a tombstone:
//	       of where it would start), at least HeaderSize
//	1-10   uvarint length of the stored value (0 for a tombstone); offset +
//	       length at most the segment size
//
// Every version lies in base..last.

// HintExt is the file name extension of hint files.
const HintExt = ".hint"

// HintHeaderSize is the size of a hint file's fixed header.
const HintHeaderSize = 80

const hintVersion = 1

var hintMagic = [8]byte{'S', 'T', 'R', 'A', 'T', 'A', 0, 'H'}

// ErrBadHint is returned for a hint file that does not decode or does not
// describe the segment at hand; recovery then rebuilds it.
var ErrBadHint = errors.New("segment: bad hint file")

// HintName returns the hint file name of segment id.
func HintName(id uint32) string { return idName(id, HintExt) }

// ParseHintName returns the segment id of a hint file name, and false for
// any other name.
func ParseHintName(name string) (uint32, bool) { return parseIDName(name, HintExt) }

// HintEntry is one version a segment holds, as its hint lists it.
type HintEntry struct {
	Run, Key  []byte
	Version   uint64
	Timestamp int64
	Offset    int64 // of the stored value in the segment
	Len       uint32
	Op        uint8 // OpPut or OpDelete
	Codec     uint8
}

// Compare orders entries by (run, key, version).
func (e *HintEntry) Compare(o *HintEntry) int {
	if c := bytes.Compare(e.Run, o.Run); c != 0 {
		return c
	}
	if c := bytes.Compare(e.Key, o.Key); c != 0 {
		return c
	}
	switch {
	case e.Version < o.Version:
		return -1
	case e.Version > o.Version:
		return 1
	}
	return 0
}

// HintHeader describes the segment a hint lists and what it holds (see
// the layout above).
type HintHeader struct {
	Segment  uint32 // the segment's id
	Salt     uint64 // and its salt
	Size     int64  // bytes of the segment described: all of it
	Base     uint64 // the segment's base version
	Last     uint64 // the last version it covers
	LastTime int64  // the largest frame timestamp, Unix microseconds
	Frames   uint64 // frames holding entries (not sync markers)
	Entries  uint64 // records in the hint
	Keys     uint64 // distinct (run, key) pairs among them
}

// Matches reports whether the hint describes segment s as it is mapped:
// same id, salt and base version, exactly its size, and (a compacted
// segment) a range within its header's bound.
func (h *HintHeader) Matches(s *Sealed) bool {
	sh := s.Header()
	return h.Segment == sh.ID && h.Salt == sh.Salt && h.Base == sh.BaseVersion &&
		h.Size == int64(len(s.Bytes())) && (!sh.Compacted() || h.Last <= sh.Last)
}

// EncodeHint returns the hint file of the entries, which must be sorted by
// (run, key, version) without duplicates; hd's Entries and Keys are
// filled in from them.
func EncodeHint(hd HintHeader, entries []HintEntry) []byte {
	keyBytes := 0
	hd.Keys = 0
	for i := range entries {
		keyBytes += len(entries[i].Key)
		if i == 0 || !sameKey(&entries[i-1], &entries[i]) {
			hd.Keys++
		}
	}
	var b bytes.Buffer
	b.Grow(HintHeaderSize + 8 + 16*len(entries) + keyBytes)
	if err := encodeHint(hd, len(entries), func(i int) *HintEntry { return &entries[i] }, &b); err != nil {
		// A bytes.Buffer takes every write, and Keys was counted by
		// the encoder's own rule.
		panic(err)
	}
	return b.Bytes()
}

// sameKey reports whether e, the entry after prev, has prev's run and
// key: the rule a hint's records follow (flag bit 5), and its header's
// Keys counts those that do not.
func sameKey(prev, e *HintEntry) bool {
	return bytes.Equal(prev.Run, e.Run) && bytes.Equal(prev.Key, e.Key)
}

// hintPiece is about how many bytes encodeHint hands its writer at a
// time: a hint of any size is encoded in that much memory.
const hintPiece = 64 << 10

// encodeHint writes to w the hint file of the n entries at(0), at(1),
// ..., sorted as EncodeHint says, among which hd.Keys are distinct (run,
// key) pairs: the header comes first and holds it. The file goes out in
// pieces of about hintPiece bytes, hashed as they go, so that a build
// never holds the whole of it. It returns w's first error, or an error if
// the entries hold another number of keys than hd.Keys.
func encodeHint(hd HintHeader, n int, at func(int) *HintEntry, w io.Writer) error {
	hd.Entries = uint64(n)
	hw := hintWriter{d: xxhash.New(), w: w}
	b := make([]byte, HintHeaderSize, hintPiece+HintHeaderSize)
	copy(b, hintMagic[:])
	le := binary.LittleEndian
	le.PutUint32(b[8:], hintVersion)
	le.PutUint32(b[12:], hd.Segment)
	le.PutUint64(b[16:], hd.Salt)
	le.PutUint64(b[24:], uint64(hd.Size))
	le.PutUint64(b[32:], hd.Base)
	le.PutUint64(b[40:], hd.Last)
	le.PutUint64(b[48:], uint64(hd.LastTime))
	le.PutUint64(b[56:], hd.Frames)
	le.PutUint64(b[64:], hd.Entries)
	le.PutUint64(b[72:], hd.Keys)
	var prev *HintEntry
	var ts int64
	keys := uint64(0)
	for i := range n {
		e := at(i)
		flags := e.Op | e.Codec<<2
		newRun := prev == nil || !bytes.Equal(prev.Run, e.Run)
		same := !newRun && bytes.Equal(prev.Key, e.Key)
		switch {
		case newRun:
			flags |= 1 << 4
		case same:
			flags |= 1 << 5
		}
		b = append(b, flags)
		if newRun {
			b = binary.AppendUvarint(b, uint64(len(e.Run)))
			b = append(b, e.Run...)
		}
		if !same {
			keys++
			p := 0
			if !newRun {
				for p < len(prev.Key) && p < len(e.Key) && prev.Key[p] == e.Key[p] {
					p++
				}
			}
			b = binary.AppendUvarint(b, uint64(p))
			b = binary.AppendUvarint(b, uint64(len(e.Key)-p))
			b = append(b, e.Key[p:]...)
			b = binary.AppendUvarint(b, e.Version-hd.Base)
		} else {
			b = binary.AppendUvarint(b, e.Version-prev.Version-1)
		}
		d := e.Timestamp - ts
		b = binary.AppendUvarint(b, uint64(d<<1^d>>63))
		ts = e.Timestamp
		b = binary.AppendUvarint(b, uint64(e.Offset))
		b = binary.AppendUvarint(b, uint64(e.Len))
		prev = e
		if len(b) >= hintPiece {
			// prev stays valid: at's entries are not in b.
			b = hw.flush(b)
		}
	}
	if keys != hd.Keys {
		return fmt.Errorf("segment: a hint of %d keys, its header counted %d", keys, hd.Keys)
	}
	b = hw.flush(b)
	b = le.AppendUint64(b, hw.d.Sum64())
	hw.flush(b)
	return hw.err
}

// hintWriter is where encodeHint's pieces go: hashed, then written to w
// (the first error stops the writes and is kept).
type hintWriter struct {
	d   *xxhash.Digest
	w   io.Writer
	err error
}

// flush hashes and writes b and returns it emptied for the next piece.
func (hw *hintWriter) flush(b []byte) []byte {
	hw.d.Write(b)
	if hw.err == nil {
		_, hw.err = hw.w.Write(b)
	}
	return b[:0]
}

// DecodeHintHeader checks a hint file's magic, version and checksum and
// returns its header; HintReader checks its records as it reads them.
func DecodeHintHeader(b []byte) (HintHeader, error) {
	if len(b) < HintHeaderSize+8 {
		return HintHeader{}, fmt.Errorf("%w: %d bytes, too short", ErrBadHint, len(b))
	}
	le := binary.LittleEndian
	if !bytes.Equal(b[:8], hintMagic[:]) {
		return HintHeader{}, fmt.Errorf("%w: bad magic", ErrBadHint)
	}
	if v := le.Uint32(b[8:]); v != hintVersion {
		return HintHeader{}, fmt.Errorf("%w: format version %d, want %d", ErrBadHint, v, hintVersion)
	}
	end := len(b) - 8
	if xxhash.Sum64(b[:end]) != le.Uint64(b[end:]) {
		return HintHeader{}, fmt.Errorf("%w: checksum mismatch", ErrBadHint)
	}
	hd := HintHeader{
		Segment:  le.Uint32(b[12:]),
		Salt:     le.Uint64(b[16:]),
		Size:     int64(le.Uint64(b[24:])),
		Base:     le.Uint64(b[32:]),
		Last:     le.Uint64(b[40:]),
		LastTime: int64(le.Uint64(b[48:])),
		Frames:   le.Uint64(b[56:]),
		Entries:  le.Uint64(b[64:]),
		Keys:     le.Uint64(b[72:]),
	}
	switch {
	case hd.Size < HeaderSize:
		return HintHeader{}, fmt.Errorf("%w: segment size %d", ErrBadHint, hd.Size)
	case hd.Base == 0 || hd.Last < hd.Base-1:
		return HintHeader{}, fmt.Errorf("%w: versions %d to %d", ErrBadHint, hd.Base, hd.Last)
	case hd.Keys > hd.Entries || hd.Entries > uint64(end-HintHeaderSize)/5 || hd.Frames > hd.Entries:
		return HintHeader{}, fmt.Errorf("%w: %d entries, %d keys, %d frames in %d bytes", ErrBadHint, hd.Entries, hd.Keys, hd.Frames, len(b))
	}
	return hd, nil
}

// HintReader reads the records of a hint file in order, checking each.
type HintReader struct {
	hd   HintHeader
	b    []byte // records not yet read
	n    uint64 // records read
	keys uint64
	cur  HintEntry
	ts   int64
	key  []byte // the current key: prefix-decoded keys are built here
}

// NewHintReader checks b's header and checksum and returns a reader of
// its records, which stay valid only while b does.
func NewHintReader(b []byte) (*HintReader, error) {
	hd, err := DecodeHintHeader(b)
	if err != nil {
		return nil, err
	}
	return &HintReader{hd: hd, b: b[HintHeaderSize : len(b)-8]}, nil
}

// Header returns the hint's header.
func (r *HintReader) Header() HintHeader { return r.hd }

// Next returns the next record; ok is false after the last. The entry's
// Run and Key are valid until the next call. A record that breaks a rule
// of the format (order, ranges, counts) is ErrBadHint.
func (r *HintReader) Next() (e *HintEntry, ok bool, err error) {
	if r.n == r.hd.Entries {
		if len(r.b) != 0 || r.keys != r.hd.Keys {
			return nil, false, fmt.Errorf("%w: %d stray bytes or %d keys, header says %d", ErrBadHint, len(r.b), r.keys, r.hd.Keys)
		}
		return nil, false, nil
	}
	bad := func(what string) (*HintEntry, bool, error) {
		return nil, false, fmt.Errorf("%w: record %d: %s", ErrBadHint, r.n, what)
	}
	if len(r.b) == 0 {
		return bad("missing")
	}
	flags := r.b[0]
	r.b = r.b[1:]
	op, codec := flags&3, flags>>2&3
	newRun, sameKey := flags&(1<<4) != 0, flags&(1<<5) != 0
	switch {
	case flags>>6 != 0 || (newRun && sameKey):
		return bad("bad flags")
	case op != OpPut && op != OpDelete, codec != CodecRaw && codec != CodecS2,
		op == OpDelete && codec != CodecRaw:
		return bad("bad op or codec")
	case r.n == 0 && !newRun:
		return bad("the first record starts no run")
	}
	c := &r.cur
	prevVersion := c.Version
	c.Op, c.Codec = op, codec
	if newRun {
		n, ok := r.uvarint(1, MaxRunLen)
		if !ok || uint64(len(r.b)) < n {
			return bad("bad run length")
		}
		run := r.b[:n]
		r.b = r.b[n:]
		if r.n > 0 && bytes.Compare(run, c.Run) <= 0 {
			return bad("runs out of order")
		}
		c.Run = run
	}
	if sameKey {
		if prevVersion >= r.hd.Last {
			return bad("bad version")
		}
		d, ok := r.uvarint(0, r.hd.Last-prevVersion-1)
		if !ok {
			return bad("bad version")
		}
		c.Version = prevVersion + 1 + d
	} else {
		p, ok := r.uvarint(0, uint64(len(r.key)))
		if !ok || (newRun && p != 0) {
			return bad("bad key prefix")
		}
		s, ok := r.uvarint(0, MaxKeyLen-p)
		if !ok || p+s == 0 || uint64(len(r.b)) < s {
			return bad("bad key length")
		}
		suffix := r.b[:s]
		r.b = r.b[s:]
		if !newRun && (s == 0 || bytes.Compare(suffix, r.key[p:]) <= 0) {
			return bad("keys out of order")
		}
		r.key = append(r.key[:p], suffix...)
		c.Key = r.key
		if r.hd.Last < r.hd.Base {
			return bad("bad version")
		}
		d, ok := r.uvarint(0, r.hd.Last-r.hd.Base)
		if !ok {
			return bad("bad version")
		}
		c.Version = r.hd.Base + d
		r.keys++
	}
	zz, ok := r.uvarint(0, 1<<64-1)
	if !ok {
		return bad("bad timestamp")
	}
	r.ts += int64(zz>>1) ^ -int64(zz&1)
	c.Timestamp = r.ts
	off, ok := r.uvarint(HeaderSize, uint64(r.hd.Size))
	if !ok {
		return bad("bad value offset")
	}
	n, ok := r.uvarint(0, uint64(r.hd.Size)-off)
	if !ok || n > 1<<32-1 || (op == OpDelete && n != 0) {
		return bad("bad value length")
	}
	c.Offset, c.Len = int64(off), uint32(n)
	r.n++
	return c, true, nil
}

// All reads every record left, copied (run and key included): for tools
// and tests; recovery reads one record at a time.
func (r *HintReader) All() ([]HintEntry, error) {
	var out []HintEntry
	for {
		e, ok, err := r.Next()
		if err != nil || !ok {
			return out, err
		}
		c := *e
		c.Run, c.Key = bytes.Clone(e.Run), bytes.Clone(e.Key)
		out = append(out, c)
	}
}

// uvarint reads a uvarint in lo..hi.
func (r *HintReader) uvarint(lo, hi uint64) (uint64, bool) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v < lo || v > hi {
		return 0, false
	}
	r.b = r.b[n:]
	return v, true
}

// HintBuilder collects the entries of a segment's frames, as they are
// scanned, for its hint file.
//
// It holds nothing the garbage collector must scan, and nothing that
// moves as it grows: an entry is a 40-byte record (hintRec) in blocks of
// recBlock, its key a place in chunks of keyChunk bytes, its run a number
// in runs. A 64 MiB segment of 100-byte values (half a million entries)
// costs it about 30 MB, and its sort keys 12 MB more (sorted in place,
// with 1.5 MB of scratch). The hint itself is encoded into a buffer of
// 64 KiB that goes to the file each time it fills (BuildHintFile), and
// the segment's pages read are given back as the scan goes, so that a
// build holds about 80 bytes an entry at most: measured on such a
// segment, 45 MB over what the process held before, and 0.3 MB after it
// (68 to 72 MB, and 12 to 29 MB after, when the hint was encoded whole
// and sorted with scratch as large as its sort keys).
//
// Those blocks, chunks and sort keys live outside the Go heap (package
// offheap), so that Release returns them to the system at once: freed
// by the collector, they would stay resident for seconds after each
// build, as the runtime keeps freed memory for reuse, and a build every
// 64 MiB of writes would keep adding to the process's peak. Only the
// first block and key chunk grow on the heap, up to heapRecs and
// heapKeyBytes, so that a small segment's build maps nothing. A builder
// nobody calls Release on gives its memory back when it is collected.
type HintBuilder struct {
	mem      offheap.Arena
	blocks   [][]hintRec
	n        int // entries added
	frames   uint64
	lastTime int64
	// Runs are interned (runs, by name in runIDs), keys copied into
	// chunks, so the segment's pages may go as soon as they are read.
	runs   [][]byte
	runIDs map[string]uint32
	last   uint32 // the run of the last entry, +1 (0: none yet)
	chunks [][]byte
}

// hintRec is an entry as the builder holds it.
type hintRec struct {
	version uint64
	ts      int64
	off     int64  // of the stored value in the segment
	key     uint64 // the key's place, length, op and codec (see place)
	len     uint32 // of the stored value
	run     uint32 // in runs
}

// A record's key field: bits 0-10 the key's length (at most MaxKeyLen),
// 11-12 the op, 13-14 the codec, 15-35 the key's offset in its chunk (at
// most keyChunk), 36-63 its chunk (2^28 chunks, 256 TiB of keys).
func place(chunk, at uint64, klen int, op, codec uint8) uint64 {
	return chunk<<36 | at<<15 | uint64(codec&3)<<13 | uint64(op&3)<<11 | uint64(klen)
}

func (r *hintRec) klen() int    { return int(r.key & (1<<11 - 1)) }
func (r *hintRec) op() uint8    { return uint8(r.key>>11) & 3 }
func (r *hintRec) codec() uint8 { return uint8(r.key>>13) & 3 }

const (
	// heapRecs and heapKeyBytes bound what the first block and key
	// chunk grow to on the heap (less than offheap maps at once).
	heapRecs     = 1024
	heapKeyBytes = 32 << 10
	recBlock     = 1 << 14
	// keyChunk is the size of the chunks keys are copied into (MaxKeyLen
	// is far below it).
	keyChunk = 1 << 20
)

// evictEvery is how many bytes of a segment BuildHint reads between two
// evictions of the pages it read.
const evictEvery = 8 << 20

// Add adds the entries of a verified frame (copying their runs and keys:
// the frame's bytes may go once it returns).
func (b *HintBuilder) Add(f *Frame) error {
	if f.Marker() {
		return nil
	}
	b.frames++
	b.lastTime = max(b.lastTime, f.Timestamp)
	return f.Entries(func(e Entry) error {
		return b.add(e.Run, e.Key, f.Version, f.Timestamp, f.Offset+int64(e.ValueOffset), uint32(len(e.Value)), e.Op, e.Codec)
	})
}

// add appends one entry.
func (b *HintBuilder) add(run, key []byte, version uint64, ts, off int64, n uint32, op, codec uint8) error {
	if op > 3 || codec > 3 { // frames that verified hold none
		return fmt.Errorf("segment: a hint entry of op %d, codec %d", op, codec)
	}
	kp, err := b.key(key, op, codec)
	if err != nil {
		return err
	}
	switch {
	case b.n%recBlock == 0:
		// The first block grows as a slice does, on the heap, so that a
		// small segment's build allocates little; later ones come whole.
		b.blocks = append(b.blocks, offheap.Slice[hintRec](&b.mem, min(recBlock, max(64, b.n)))[:0])
	case b.n == heapRecs:
		// Past that the first block moves to a whole one, mapped: grown
		// by append to recBlock, it would leave the heap about five
		// times its size of garbage.
		blk := offheap.Slice[hintRec](&b.mem, recBlock)[:b.n]
		copy(blk, b.blocks[0])
		b.blocks[0] = blk
	}
	blk := &b.blocks[len(b.blocks)-1]
	*blk = append(*blk, hintRec{version: version, ts: ts, off: off, key: kp, len: n,
		run: b.run(run)})
	b.n++
	return nil
}

// rec returns entry i.
func (b *HintBuilder) rec(i uint32) *hintRec { return &b.blocks[i/recBlock][i%recBlock] }

// keyOf returns the key of r, in the builder's chunks.
func (b *HintBuilder) keyOf(r *hintRec) []byte {
	c, at, n := r.key>>36, r.key>>15&(1<<21-1), uint64(r.klen())
	return b.chunks[c][at : at+n : at+n]
}

// run returns the number of run name r, interning it.
func (b *HintBuilder) run(r []byte) uint32 {
	if b.last != 0 && bytes.Equal(r, b.runs[b.last-1]) { // runs change seldom
		return b.last - 1
	}
	id, ok := b.runIDs[string(r)]
	if !ok {
		if b.runIDs == nil {
			b.runIDs = map[string]uint32{}
		}
		id = uint32(len(b.runs))
		c := bytes.Clone(r)
		b.runs = append(b.runs, c)
		b.runIDs[string(c)] = id
	}
	b.last = id + 1
	return id
}

// key copies key k into the builder's chunks and returns its place.
func (b *HintBuilder) key(k []byte, op, codec uint8) (uint64, error) {
	if len(k) > MaxKeyLen { // frames that verified hold none
		return 0, fmt.Errorf("segment: a hint entry's key of %d bytes", len(k))
	}
	if last := len(b.chunks) - 1; last < 0 || len(b.chunks[last])+len(k) > keyChunk || last == 0 && len(b.chunks[0])+len(k) > heapKeyBytes {
		// As with blocks, the first chunk grows on the heap (nothing
		// views the chunks before Encode), up to heapKeyBytes; the
		// next ones come whole, mapped.
		b.chunks = append(b.chunks, b.mem.Bytes(min(keyChunk, max(1024, len(b.chunks)*keyChunk)))[:0])
	}
	c := &b.chunks[len(b.chunks)-1]
	at := len(*c)
	*c = append(*c, k...)
	return place(uint64(len(b.chunks)-1), uint64(at), len(k), op, codec), nil
}

// Release returns the builder's memory to the system and empties it;
// it can be used again.
func (b *HintBuilder) Release() {
	b.mem.Free()
	*b = HintBuilder{mem: b.mem}
}

// Encode returns the hint file of the entries added so far, for the
// first size bytes of the segment of header h, whose last version (of
// its last commit, or of the range a compacted segment covers) is last.
func (b *HintBuilder) Encode(h Header, size int64, last uint64) []byte {
	var buf bytes.Buffer
	if err := b.encodeTo(&buf, h, size, last); err != nil {
		panic(err) // a bytes.Buffer takes every write; order counts the keys
	}
	return buf.Bytes()
}

// encodeTo writes what Encode returns to w, a piece at a time (see
// encodeHint): the file is never whole in memory.
func (b *HintBuilder) encodeTo(w io.Writer, h Header, size int64, last uint64) error {
	order, keys := b.order()
	// encodeHint keeps the entry before the current one: two buffers.
	var two [2]HintEntry
	var sink uint64
	defer func() { runtime.KeepAlive(sink) }()
	return encodeHint(HintHeader{Segment: h.ID, Salt: h.Salt, Size: size, Base: h.BaseVersion, Last: last,
		LastTime: b.lastTime, Frames: b.frames, Keys: keys}, len(order), func(i int) *HintEntry {
		if i%touchGroup == 0 {
			// Entries in key order are records and keys at random
			// places of the builder: two cache misses each. Load the
			// next group's records, then their keys, so that the misses
			// of a group overlap.
			group := order[i:min(i+touchGroup, len(order))]
			for _, o := range group {
				sink += b.rec(o.Ref).key
			}
			for _, o := range group {
				if k := b.keyOf(b.rec(o.Ref)); len(k) > 0 {
					sink += uint64(k[0])
				}
			}
		}
		e := &two[i&1]
		*e = b.entry(order[i].Ref)
		return e
	}, w)
}

// touchGroup is how many entries Encode loads together.
const touchGroup = 16

// entry returns entry i as a HintEntry, its run and key views of the
// builder's copies.
func (b *HintBuilder) entry(i uint32) HintEntry {
	r := b.rec(i)
	return HintEntry{Run: b.runs[r.run], Key: b.keyOf(r), Version: r.version, Timestamp: r.ts,
		Offset: r.off, Len: r.len, Op: r.op(), Codec: r.codec()}
}

// order returns the entries' order by (run, key, version): Ref is the
// place of the first in the builder, of the second, ...; and how many
// distinct (run, key) pairs they hold, which a hint's header gives
// before its records. Sort keys hold each entry's run rank and a copy of
// its key's first 16 bytes, so that sorting touches the entries
// themselves only to break ties beyond them.
func (b *HintBuilder) order() (ks []keysort.Key, keys uint64) {
	names := make([]uint32, len(b.runs))
	for i := range names {
		names[i] = uint32(i)
	}
	slices.SortFunc(names, func(x, y uint32) int { return bytes.Compare(b.runs[x], b.runs[y]) })
	ranks := make([]uint32, len(b.runs))
	for r, id := range names {
		ranks[id] = uint32(r)
	}
	ks = offheap.Slice[keysort.Key](&b.mem, b.n)
	for i := range ks {
		r := b.rec(uint32(i))
		k0, k1 := keysort.Prefix(b.keyOf(r))
		ks[i] = keysort.Key{K0: k0, K1: k1, Run: ranks[r.run], Ref: uint32(i)}
	}
	// By (run, k0, k1) with a radix sort in place (scratch as large as
	// ks would be the build's peak), then each run of equal prefixes (a
	// key's versions, and keys sharing their first 16 bytes) by the
	// whole comparison.
	var scratch offheap.Arena
	keysort.InPlace(ks, offheap.Slice[keysort.Key](&scratch, min(len(ks), keysort.InPlaceScratch)))
	scratch.Free()
	for i := 0; i < len(ks); {
		j := i + 1
		for j < len(ks) && keysort.Same(&ks[j], &ks[i]) {
			j++
		}
		keys++ // a new prefix is a new key
		if j-i > 1 {
			// Sorted and counted while the records are in the cache.
			tie := ks[i:j]
			slices.SortFunc(tie, b.compare)
			for t := 1; t < len(tie); t++ {
				if !b.sameKey(b.rec(tie[t-1].Ref), b.rec(tie[t].Ref)) {
					keys++
				}
			}
		}
		i = j
	}
	return ks, keys
}

// compare orders two sort keys of the same (run, first 16 bytes) by the
// whole key, then version.
func (b *HintBuilder) compare(x, y keysort.Key) int {
	rx, ry := b.rec(x.Ref), b.rec(y.Ref)
	if rx.klen() <= 16 && ry.klen() <= 16 {
		// The same key, or one a prefix of the other padded with
		// zeros: the shorter first, then a key's versions in order.
		return cmp.Or(cmp.Compare(rx.klen(), ry.klen()), cmp.Compare(rx.version, ry.version))
	}
	if c := bytes.Compare(b.keyOf(rx), b.keyOf(ry)); c != 0 {
		return c
	}
	return cmp.Compare(rx.version, ry.version)
}

// sameKey reports whether two records whose sort keys are equal (same
// run, same first 16 bytes) have the same key.
func (b *HintBuilder) sameKey(x, y *hintRec) bool {
	if x.klen() != y.klen() {
		return false
	}
	return x.klen() <= 16 || bytes.Equal(b.keyOf(x), b.keyOf(y))
}

// BuildHint scans the whole of sealed segment s, verifying every frame,
// and returns its hint file; a frame that does not verify is an error
// (*CorruptError). last is the last version the segment covers, as the
// manifest lists it; 0 takes it from the segment (its last commit, or a
// compacted segment's header, which bounds the range the manifest gives
// it).
func BuildHint(s *Sealed, last uint64) ([]byte, error) {
	var buf bytes.Buffer
	if err := buildHint(s, last, func(encode func(io.Writer) error) error { return encode(&buf) }); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// BuildHintFile builds the hint file of sealed segment s, as BuildHint
// does, and writes it into dir, as WriteHint does, a piece at a time: the
// file is never whole in memory.
func BuildHintFile(fs vfs.FS, dir string, s *Sealed, last uint64) error {
	return buildHint(s, last, func(encode func(io.Writer) error) error { return writeHint(fs, dir, s.ID(), encode) })
}

// buildHint scans s into a builder, as BuildHint says, then calls emit
// with the function that encodes the hint to a writer.
func buildHint(s *Sealed, last uint64, emit func(encode func(io.Writer) error) error) error {
	covers := last
	var b HintBuilder
	defer b.Release()
	sc := s.Scanner()
	last = s.Header().BaseVersion - 1
	evicted := int64(0)
	err := GuardFault(s.Path(), 0, func() error {
		for {
			if off := sc.Offset(); off-evicted >= evictEvery {
				// The builder holds copies: give back the pages read, so
				// that a build holds a few megabytes of the segment.
				s.Evict()
				evicted = off
			}
			f, err := sc.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return &CorruptError{File: s.Path(), Offset: sc.Offset(), Err: err}
			}
			if !f.Marker() {
				last = f.Version
			}
			if err := b.Add(&f); err != nil {
				return err
			}
		}
	})
	// The last pages read, too: the sort that comes next is the build's
	// peak.
	s.Evict()
	if err != nil {
		return err
	}
	switch h := s.Header(); {
	case covers != 0 && covers < last:
		return &CorruptError{File: s.Path(), Err: fmt.Errorf("%w: a commit of version %d, beyond the %d the segment covers", ErrSequence, last, covers)}
	case covers != 0:
		last = covers
	case h.Compacted():
		last = h.Last
	}
	return emit(func(w io.Writer) error {
		return GuardFault(s.Path(), 0, func() error {
			return b.encodeTo(w, s.Header(), int64(len(s.Bytes())), last)
		})
	})
}

// WriteHint writes hint file b of segment id into dir: to a temporary
// file renamed into place, not synced (a hint a crash loses or tears is
// rebuilt).
func WriteHint(fs vfs.FS, dir string, id uint32, b []byte) error {
	return writeHint(fs, dir, id, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// writeHint is WriteHint of the hint file encode writes.
func writeHint(fs vfs.FS, dir string, id uint32, encode func(io.Writer) error) error {
	path := filepath.Join(dir, HintName(id))
	tmp := path + ".tmp"
	f, err := fs.Create(tmp)
	if err != nil {
		return fmt.Errorf("segment: write hint: %w", err)
	}
	if err := encode(f); err != nil {
		f.Close()
		fs.Remove(tmp)
		return fmt.Errorf("segment: write hint %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		fs.Remove(tmp)
		return fmt.Errorf("segment: write hint %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, path); err != nil {
		fs.Remove(tmp)
		return fmt.Errorf("segment: write hint: %w", err)
	}
	return nil
}

// ReadHint returns the hint file of segment id in dir, or nil and an
// error (os.ErrNotExist when there is none).
func ReadHint(fs vfs.FS, dir string, id uint32) ([]byte, error) {
	return vfs.ReadFile(fs, filepath.Join(dir, HintName(id)))
}
