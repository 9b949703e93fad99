package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/strata-kv/strata/internal/hashset"
	"math"
	"math/bits"
	"math/rand/v2"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Format constants. Changing any of them changes the on-disk format.
const (
	Magic         = "STRATA\x00S"
	FormatVersion = 2
	HeaderSize    = 56

	// MaxFrameBody bounds L, a frame's bytes after its head, so a length
	// field can be checked before anything is read or allocated from it.
	MaxFrameBody = 1 << 31
	MaxRunLen    = 256
	MaxKeyLen    = 1024

	checksumSize = 4
	// headCheckSize is the size of the head check, after the tag.
	headCheckSize = 3
	// varintsAt is where a frame's uvarints start.
	varintsAt = 1 + headCheckSize
	// maxHead is the longest frame head: tag, head check, five uvarints.
	maxHead = varintsAt + 5*binary.MaxVarintLen64
	// minEntry is the smallest entry: flags (holding a small run number),
	// key length, a 1-byte key (a tombstone has no value length).
	minEntry = 3
	// inlineRuns is how many run numbers (0..6) fit in an entry's flags.
	inlineRuns = 7
)

// Entry ops: what an entry does to its key (called "op", not "kind",
// so as not to be mistaken for kv.Kind, the type of a value).
const (
	OpPut    uint8 = 1 // a new value
	OpDelete uint8 = 2 // a deletion: a tombstone, with no value
)

// Value codecs.
const (
	CodecRaw uint8 = 0
	CodecS2  uint8 = 1
)

// Entry flag bits.
const (
	flagOpMask    = 0x03
	flagCodecMask = 0x0c
	flagRunNamed  = 0x10
	flagRunShift  = 5 // bits 5-7: run number + 1, or 0 (a uvarint follows)
)

// Errors returned by the decoders. Recovery turns them into corruption
// or torn-write reports with a file and an offset.
var (
	// ErrTruncated: the bytes end before the frame does.
	ErrTruncated = errors.New("segment: frame truncated")
	// ErrChecksum: the frame's head check or checksum does not match its
	// bytes at its offset.
	ErrChecksum = errors.New("segment: checksum mismatch")
	// ErrMalformed: the frame's bytes cannot be a frame Strata wrote.
	ErrMalformed = errors.New("segment: malformed frame")
	// ErrSequence: the frame verifies but cannot be where it stands: a
	// version skipped or repeated, an impossible claim, entries that do
	// not fit the segment's runs. A crash cannot cause that (frames were
	// moved, cut out or repeated, or written wrong), so it is always
	// corruption, never a torn tail. It wraps the particular error too.
	ErrSequence = errors.New("segment: frame out of sequence")
	// ErrBadHeader: the segment header is damaged or not Strata's.
	ErrBadHeader = errors.New("segment: bad segment header")
	// ErrOldFormat: the segment was written in a format version this
	// build does not read.
	ErrOldFormat = errors.New("segment: unsupported format version")
)

// Header is the fixed header of a segment file.
type Header struct {
	ID          uint32
	Salt        uint64 // keys every frame's checks (see the package doc)
	BaseVersion uint64 // version of the segment's first commit
	BaseTime    int64  // Unix microseconds; no frame is older
	// Last is 0 for a log segment. A compacted segment (written by
	// compaction, see the package doc) covers the versions BaseVersion
	// through Last, or through the earlier version the manifest gives
	// it: it holds the commits of that range that compaction kept, in
	// order, with gaps where it dropped some.
	Last uint64
}

// Compacted reports whether the header is a compacted segment's.
func (h Header) Compacted() bool { return h.Last != 0 }

// NewHeader returns the header of a new segment id whose first commit
// will take version base, with a fresh random salt.
func NewHeader(id uint32, base uint64, baseTime int64) Header {
	return Header{ID: id, Salt: rand.Uint64(), BaseVersion: base, BaseTime: baseTime}
}

// tag is the byte every frame of the segment starts with.
func (h *Header) tag() byte {
	t := byte(h.Salt>>56) | 0x80
	if t == 0xff {
		t = 0xfe
	}
	return t
}

// Encode returns the header's HeaderSize bytes.
func (h Header) Encode() []byte {
	b := make([]byte, HeaderSize)
	copy(b, Magic)
	binary.LittleEndian.PutUint32(b[8:], FormatVersion)
	binary.LittleEndian.PutUint32(b[12:], h.ID)
	binary.LittleEndian.PutUint64(b[16:], h.Salt)
	binary.LittleEndian.PutUint64(b[24:], h.BaseVersion)
	binary.LittleEndian.PutUint64(b[32:], uint64(h.BaseTime))
	binary.LittleEndian.PutUint64(b[40:], h.Last)
	binary.LittleEndian.PutUint64(b[48:], xxhash.Sum64(b[:48]))
	return b
}

// DecodeHeader checks a segment header and returns it. A file of another
// format version gives ErrOldFormat (it is not damage); anything else
// wrong gives ErrBadHeader.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < 12 || string(b[:8]) != Magic {
		if len(b) >= 8 && string(b[:8]) != Magic {
			return Header{}, fmt.Errorf("%w: wrong magic %q", ErrBadHeader, b[:8])
		}
		return Header{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadHeader, len(b), HeaderSize)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != FormatVersion {
		// Damage to the version field shows as a header that would verify
		// with the right version; a real file of another version does not.
		if len(b) >= HeaderSize {
			fixed := make([]byte, 48)
			copy(fixed, b)
			binary.LittleEndian.PutUint32(fixed[8:], FormatVersion)
			if binary.LittleEndian.Uint64(b[48:]) == xxhash.Sum64(fixed) {
				return Header{}, fmt.Errorf("%w: the format version field is damaged", ErrBadHeader)
			}
		}
		return Header{}, fmt.Errorf("%w: the file is in format version %d and this build reads only version %d", ErrOldFormat, v, FormatVersion)
	}
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadHeader, len(b), HeaderSize)
	}
	if binary.LittleEndian.Uint64(b[48:]) != xxhash.Sum64(b[:48]) {
		return Header{}, fmt.Errorf("%w: checksum mismatch", ErrBadHeader)
	}
	h := Header{
		ID:          binary.LittleEndian.Uint32(b[12:]),
		Salt:        binary.LittleEndian.Uint64(b[16:]),
		BaseVersion: binary.LittleEndian.Uint64(b[24:]),
		BaseTime:    int64(binary.LittleEndian.Uint64(b[32:])),
		Last:        binary.LittleEndian.Uint64(b[40:]),
	}
	if h.BaseVersion == 0 || h.BaseTime < 0 || (h.Last != 0 && h.Last < h.BaseVersion) {
		return Header{}, fmt.Errorf("%w: base version %d, last version %d, base time %d", ErrBadHeader, h.BaseVersion, h.Last, h.BaseTime)
	}
	return h, nil
}

// The checks. See "Checksums" in the package doc.
func mix(x uint64) uint64 { // splitmix64's finalizer
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func headCheck(salt uint64, varints []byte) uint32 {
	return uint32(mix(xxhash.Sum64(varints)^salt^0xC2B2AE3D27D4EB4F)) & 0xffffff
}

func putHeadCheck(b []byte, c uint32) { b[0], b[1], b[2] = byte(c), byte(c>>8), byte(c>>16) }

func getHeadCheck(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 }

func frameChecksum(salt uint64, b []byte) uint32 {
	return uint32(mix(xxhash.Sum64(b) ^ salt))
}

// head is a frame's head, decoded and verified by parseHead.
type head struct {
	len    int    // bytes of the head
	size   int64  // bytes of the whole frame
	vdelta uint64 // version - base version
	tdelta uint64 // timestamp - previous timestamp
	synced uint64 // bytes of the file fsynced when it was written; 0: as the previous frame said
	count  uint64 // entries
}

// uvarint decodes a minimal uvarint from b.
func uvarint(b []byte) (uint64, int, error) {
	x, n := binary.Uvarint(b)
	switch {
	case n == 0:
		return 0, 0, ErrTruncated
	case n < 0:
		return 0, 0, fmt.Errorf("%w: varint overflows 64 bits", ErrMalformed)
	case n > 1 && b[n-1] == 0:
		return 0, 0, fmt.Errorf("%w: varint not minimal", ErrMalformed)
	}
	return x, n, nil
}

// parseHead decodes and checks the head of the frame at data[off:] in
// constant time: nothing past the head is read.
func parseHead(h *Header, data []byte, off int64) (head, error) {
	b := data[off:]
	if len(b) == 0 {
		return head{}, fmt.Errorf("%w: no bytes left", ErrTruncated)
	}
	if b[0] != h.tag() {
		return head{}, fmt.Errorf("%w: byte 0x%02x where a frame starts (the segment's frames start with 0x%02x)", ErrMalformed, b[0], h.tag())
	}
	if len(b) > maxHead {
		b = b[:maxHead]
	}
	var f [5]uint64
	p := varintsAt
	if p > len(b) {
		return head{}, fmt.Errorf("%w: frame head cut short", ErrTruncated)
	}
	for i := range f {
		x, n, err := uvarint(b[p:])
		if err != nil {
			if errors.Is(err, ErrTruncated) {
				return head{}, fmt.Errorf("%w: frame head cut short", ErrTruncated)
			}
			return head{}, err
		}
		f[i] = x
		p += n
	}
	if getHeadCheck(b[1:]) != headCheck(h.Salt, b[varintsAt:p]) {
		return head{}, fmt.Errorf("%w: frame head", ErrChecksum)
	}
	hd := head{len: p, vdelta: f[1], tdelta: f[2], synced: f[3], count: f[4]}
	switch L := f[0]; {
	case L < checksumSize || L > MaxFrameBody:
		return head{}, fmt.Errorf("%w: frame length %d", ErrMalformed, L)
	case hd.count == 0 && (L != checksumSize || hd.tdelta != 0 || hd.synced == 0):
		return head{}, fmt.Errorf("%w: sync marker of %d bytes, timestamp delta %d, claiming %d bytes synced", ErrMalformed, L, hd.tdelta, hd.synced)
	case hd.synced != 0 && hd.synced < HeaderSize:
		return head{}, fmt.Errorf("%w: claims %d bytes synced, less than the header", ErrMalformed, hd.synced)
	case hd.count > (L-checksumSize)/minEntry:
		return head{}, fmt.Errorf("%w: %d entries in %d bytes", ErrMalformed, hd.count, L)
	default:
		hd.size = int64(p) + int64(L)
	}
	if hd.vdelta > math.MaxUint64-h.BaseVersion {
		return head{}, fmt.Errorf("%w: version overflows", ErrMalformed)
	}
	return hd, nil
}

// Entry is one decoded entry of a frame. Its slices point into the
// segment's bytes (a mapping, usually): copy what must outlive them.
type Entry struct {
	Op    uint8 // OpPut or OpDelete
	Codec uint8
	Run   []byte
	Key   []byte
	Value []byte // stored bytes, compressed when Codec != CodecRaw
	// ValueOffset is the offset of Value from the start of the frame.
	ValueOffset int
	// RunNamed is set when the entry names its run (its first use in the
	// segment) rather than referring to it by number.
	RunNamed bool
	// Size is the number of bytes the entry takes in the frame.
	Size int
}

// Frame is a decoded, verified frame. Its slices point into the
// segment's bytes.
type Frame struct {
	Offset int64 // in the segment file
	Size   int   // bytes, head and checksum included
	// Version is the commit's version; for a sync marker, the version the
	// next commit takes.
	Version   uint64
	Timestamp int64 // Unix microseconds
	// Synced is how many bytes of the file were known to be fsynced when
	// the frame was written: what it claims, or (Claims false) what the
	// frames before it claimed.
	Synced int64
	Claims bool
	Count  int // entries; 0 for a sync marker

	headLen int
	data    []byte   // the frame's bytes
	runs    [][]byte // the segment's runs, those this frame names included
	runBase int      // how many of runs were named before this frame
}

// Marker reports whether the frame is a sync marker (no commit).
func (f *Frame) Marker() bool { return f.Count == 0 }

// Bytes returns the frame's bytes.
func (f *Frame) Bytes() []byte { return f.data }

// Entries calls fn for each entry in order. The frame has been verified,
// so fn sees well-formed entries only.
func (f *Frame) Entries(fn func(e Entry) error) error {
	c := entryCursor{b: f.data[:len(f.data)-checksumSize], p: f.headLen, runs: f.runs, known: f.runBase}
	for i := 0; i < f.Count; i++ {
		e, err := c.next()
		if err != nil {
			return err // cannot happen for a verified frame
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// entryCursor decodes the entries of a frame in order. runs holds the
// segment's run names: the first known of them were named before the
// frame, and named more follow them (named by earlier entries of this
// frame; with grow the cursor appends them as it meets them). Checks that
// depend on the whole segment (a run named twice) are made only with
// grow; a verified frame's entries are decoded again without them.
type entryCursor struct {
	b     []byte // the frame's bytes before its checksum
	p     int
	runs  [][]byte
	known int
	named int
	// grow: the frame is being verified. The runs it names are appended
	// to runs and entered in names (the segment's run names, for the
	// check that none is named twice), and listed in added so that a
	// frame that fails can take them out again.
	grow  bool
	names map[string]struct{}
	added []string
}

// undo takes out of names the runs a failed frame named.
func (c *entryCursor) undo() {
	for _, r := range c.added {
		delete(c.names, r)
	}
}

func (c *entryCursor) uvarint(what string, lo, hi uint64) (uint64, error) {
	x, n, err := uvarint(c.b[c.p:])
	if err != nil {
		if errors.Is(err, ErrTruncated) {
			return 0, fmt.Errorf("%w: %s past the end of the frame", ErrMalformed, what)
		}
		return 0, err
	}
	if x < lo || x > hi {
		return 0, fmt.Errorf("%w: %s %d", ErrMalformed, what, x)
	}
	c.p += n
	return x, nil
}

func (c *entryCursor) bytes(what string, n uint64) ([]byte, error) {
	if n > uint64(len(c.b)-c.p) {
		return nil, fmt.Errorf("%w: %s of %d bytes past the end of the frame", ErrMalformed, what, n)
	}
	s := c.b[c.p : c.p+int(n) : c.p+int(n)]
	c.p += int(n)
	return s, nil
}

// next decodes the next entry; its ValueOffset is from the frame start.
func (c *entryCursor) next() (Entry, error) {
	if c.p >= len(c.b) {
		return Entry{}, fmt.Errorf("%w: entry past the end of the frame", ErrMalformed)
	}
	start := c.p
	flags := c.b[c.p]
	c.p++
	e := Entry{Op: flags & flagOpMask, Codec: (flags & flagCodecMask) >> 2, RunNamed: flags&flagRunNamed != 0}
	inline := flags >> flagRunShift
	switch {
	case e.RunNamed && inline != 0:
		return Entry{}, fmt.Errorf("%w: entry flags 0x%02x name a run and number one", ErrMalformed, flags)
	case e.Op != OpPut && e.Op != OpDelete:
		return Entry{}, fmt.Errorf("%w: entry op %d", ErrMalformed, e.Op)
	case e.Codec != CodecRaw && e.Codec != CodecS2:
		return Entry{}, fmt.Errorf("%w: codec %d", ErrMalformed, e.Codec)
	case e.Op == OpDelete && e.Codec != CodecRaw:
		return Entry{}, fmt.Errorf("%w: tombstone with a codec", ErrMalformed)
	}
	have := c.known + c.named
	if e.RunNamed {
		r, err := c.uvarint("run length", 1, MaxRunLen)
		if err != nil {
			return Entry{}, err
		}
		if e.Run, err = c.bytes("run", r); err != nil {
			return Entry{}, err
		}
		if c.grow {
			if _, dup := c.names[string(e.Run)]; dup {
				return Entry{}, fmt.Errorf("%w: run %q named twice in the segment", ErrMalformed, e.Run)
			}
			c.names[string(e.Run)] = struct{}{}
			c.added = append(c.added, string(e.Run))
			c.runs = append(c.runs, e.Run)
		}
		c.named++
	} else {
		if have == 0 {
			return Entry{}, fmt.Errorf("%w: a run number before any run is named", ErrMalformed)
		}
		var num uint64
		if inline != 0 {
			if num = uint64(inline - 1); num >= uint64(have) {
				return Entry{}, fmt.Errorf("%w: run number %d", ErrMalformed, num)
			}
		} else {
			// Numbers below inlineRuns go in the flags: one encoding each.
			var err error
			if num, err = c.uvarint("run number", inlineRuns, uint64(have-1)); err != nil {
				return Entry{}, err
			}
		}
		e.Run = c.runs[num]
	}
	k, err := c.uvarint("key length", 1, MaxKeyLen)
	if err != nil {
		return Entry{}, err
	}
	if e.Key, err = c.bytes("key", k); err != nil {
		return Entry{}, err
	}
	v := uint64(0)
	if e.Op == OpPut {
		if v, err = c.uvarint("value length", 0, MaxFrameBody); err != nil {
			return Entry{}, err
		}
	}
	e.ValueOffset = c.p
	if e.Value, err = c.bytes("value", v); err != nil {
		return Entry{}, err
	}
	e.Size = c.p - start
	return e, nil
}

// FieldOffset is the offset from the start of the frame of the entry's
// value field: the value's length, a uvarint, then Value. A deletion has
// none: its FieldOffset is 0.
func (e *Entry) FieldOffset() int {
	if e.Op != OpPut {
		return 0
	}
	return e.ValueOffset - uvlen(uint64(len(e.Value)))
}

// FieldAt returns the offset of the field of a stored value of n bytes
// that starts at off: its length uvarint comes right before it.
func FieldAt(off int64, n int) int64 { return off - int64(uvlen(uint64(n))) }

// FieldValue returns the stored value of the field at the start of b
// (its length, a uvarint, then its bytes): a view of b. It touches b, so
// a caller reading a mapping calls it under GuardFaults.
func FieldValue(b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, errNoField
	}
	return b[k : k+int(n) : k+int(n)], nil
}

// errNoField is the error of a value field that cannot be read.
var errNoField = fmt.Errorf("%w: no value field of a valid length here", ErrMalformed)

// EntrySpec is an entry to encode: its value is already in stored form
// (see Compress).
type EntrySpec struct {
	Op    uint8
	Codec uint8
	Run   string
	Key   string
	Value []byte
}

// EntryBound returns an upper bound on the bytes an entry takes in a
// frame (as if its run were named in it).
func EntryBound(runLen, keyLen, valueLen int) int64 {
	return int64(1+2+runLen+2+keyLen+binary.MaxVarintLen64) + int64(valueLen)
}

// MaxHead is the most bytes a frame takes beyond its entries.
const MaxHead = maxHead + checksumSize

func uvlen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// Encoder builds the frames of one segment in order; it holds the run
// numbers the segment has named, the last timestamp, the next version and
// the synced offset the frames claimed last. Writer uses one; tools and
// tests can use it to build segment bytes in memory.
type Encoder struct {
	hdr  Header
	runs map[string]uint64
	ts   int64 // timestamp of the last frame appended
	// next is the version the next commit must take.
	next uint64
	// claimed is the synced offset the frames claimed last (HeaderSize
	// before any did); commitEnd is where the last commit frame ends.
	claimed, commitEnd int64
	// Scratch of the duplicate-key check (see dupKey), dropped after a
	// commit of more than maxScratchPairs entries.
	pairs [][2]string
	dups  hashset.Set
	// refs is AppendCommit's scratch of the entries' runs, dropped after
	// a commit of more than maxScratchPairs entries.
	refs []runRef
}

// runRef is how a commit frame names an entry's run: its number, and
// whether the frame names it first (see AppendCommit).
type runRef struct {
	num   uint64
	named bool
}

// maxScratchPairs bounds the duplicate-key scratch an Encoder or Scanner
// keeps between commits.
const maxScratchPairs = 1 << 12

// NewEncoder returns an Encoder for the frames of a new segment with
// header h, the first at offset HeaderSize.
func NewEncoder(h Header) *Encoder {
	return &Encoder{hdr: h, runs: map[string]uint64{}, ts: h.BaseTime, next: h.BaseVersion,
		claimed: HeaderSize, commitEnd: HeaderSize}
}

// Next returns the version the next commit must take (in a compacted
// segment, the lowest it may take).
func (enc *Encoder) Next() uint64 { return enc.next }

// AppendCommit appends to dst the frame of commit version (which must be
// the encoder's next version) with timestamp ts (no earlier than the last
// frame's), for offset off of the file, where synced bytes of the file
// are known to be durable. It appends each entry's value offset in the
// file to offs. An invalid entry is an error and appends nothing.
func (enc *Encoder) AppendCommit(dst []byte, off, synced int64, version uint64, ts int64, ents []EntrySpec, offs []int64) ([]byte, []int64, error) {
	if err := enc.check(off, synced, version, ts); err != nil {
		return dst, offs, err
	}
	if len(ents) == 0 {
		return dst, offs, errors.New("segment: a commit frame needs at least one entry")
	}
	bound := int64(checksumSize)
	for _, e := range ents {
		if len(e.Run) == 0 || len(e.Run) > MaxRunLen || len(e.Key) == 0 || len(e.Key) > MaxKeyLen ||
			(e.Op != OpPut && e.Op != OpDelete) || (e.Codec != CodecRaw && e.Codec != CodecS2) ||
			(e.Op == OpDelete && (e.Codec != CodecRaw || len(e.Value) != 0)) {
			return dst, offs, fmt.Errorf("segment: invalid entry (op %d, codec %d, run of %d bytes, key of %d bytes, value of %d bytes)",
				e.Op, e.Codec, len(e.Run), len(e.Key), len(e.Value))
		}
		bound += EntryBound(len(e.Run), len(e.Key), len(e.Value))
	}
	if bound > MaxFrameBody {
		return dst, offs, fmt.Errorf("segment: commit of up to %d bytes exceeds the frame limit of %d", bound, int64(MaxFrameBody))
	}
	if len(ents) > 1 {
		pairs := enc.pairs[:0]
		for _, e := range ents {
			pairs = append(pairs, [2]string{e.Run, e.Key})
		}
		k, dup := dupKey(pairs, &enc.dups)
		clear(pairs) // keep no reference to the caller's strings
		enc.pairs = pairs[:0]
		if cap(pairs) > maxScratchPairs { // one huge commit pins nothing
			enc.pairs, enc.dups = nil, hashset.Set{}
		}
		if dup {
			return dst, offs, fmt.Errorf("segment: key %q of run %q twice in one commit", k[1], k[0])
		}
	}
	// Name the runs first seen here, and size the entries.
	rr := enc.refs[:0]
	body := checksumSize
	for _, e := range ents {
		num, ok := enc.runs[e.Run]
		switch {
		case !ok:
			num = uint64(len(enc.runs))
			enc.runs[e.Run] = num
			body += 1 + uvlen(uint64(len(e.Run))) + len(e.Run)
		case num < inlineRuns:
			body++
		default:
			body += 1 + uvlen(num)
		}
		rr = append(rr, runRef{num, !ok})
		body += uvlen(uint64(len(e.Key))) + len(e.Key)
		if e.Op == OpPut {
			body += uvlen(uint64(len(e.Value))) + len(e.Value)
		}
	}
	start := len(dst)
	dst = enc.appendHead(dst, synced, version, ts, uint64(body), uint64(len(ents)))
	for i, e := range ents {
		flags := e.Op | e.Codec<<2
		switch num := rr[i].num; {
		case rr[i].named:
			dst = append(dst, flags|flagRunNamed)
			dst = binary.AppendUvarint(dst, uint64(len(e.Run)))
			dst = append(dst, e.Run...)
		case num < inlineRuns:
			dst = append(dst, flags|byte(num+1)<<flagRunShift)
		default:
			dst = append(dst, flags)
			dst = binary.AppendUvarint(dst, num)
		}
		dst = binary.AppendUvarint(dst, uint64(len(e.Key)))
		dst = append(dst, e.Key...)
		if e.Op == OpPut {
			dst = binary.AppendUvarint(dst, uint64(len(e.Value)))
			offs = append(offs, off+int64(len(dst)-start))
			dst = append(dst, e.Value...)
		} else {
			offs = append(offs, off+int64(len(dst)-start))
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, frameChecksum(enc.hdr.Salt, dst[start:]))
	if enc.refs = rr[:0]; cap(rr) > maxScratchPairs { // one huge commit pins nothing
		enc.refs = nil
	}
	enc.ts, enc.next = ts, version+1
	enc.commitEnd = off + int64(len(dst)-start)
	return dst, offs, nil
}

// NeedsMarker reports whether a sync marker at this point, with synced
// bytes of the file durable, would claim something new about the
// commits: that more of them are durable than the frames claimed so far.
func (enc *Encoder) NeedsMarker(synced int64) bool {
	return min(synced, enc.commitEnd) > enc.claimed
}

// AppendMarker appends to dst a sync marker for offset off, claiming that
// synced bytes of the file are durable. It appends nothing, and returns
// false, unless NeedsMarker(synced).
func (enc *Encoder) AppendMarker(dst []byte, off, synced int64) ([]byte, bool, error) {
	if enc.hdr.Compacted() {
		return dst, false, nil // written whole and fsynced before anyone reads it
	}
	if err := enc.check(off, synced, enc.next, enc.ts); err != nil || !enc.NeedsMarker(synced) {
		return dst, false, err
	}
	start := len(dst)
	dst = enc.appendHead(dst, synced, enc.next, enc.ts, checksumSize, 0)
	return binary.LittleEndian.AppendUint32(dst, frameChecksum(enc.hdr.Salt, dst[start:])), true, nil
}

func (enc *Encoder) check(off, synced int64, version uint64, ts int64) error {
	switch {
	case enc.hdr.Compacted() && (version < enc.next || version > enc.hdr.Last):
		return fmt.Errorf("segment: commit of version %d in a compacted segment at version %d, covering up to %d", version, enc.next, enc.hdr.Last)
	case !enc.hdr.Compacted() && version != enc.next:
		return fmt.Errorf("segment: commit of version %d where %d comes next", version, enc.next)
	case ts < enc.ts:
		return fmt.Errorf("segment: timestamp %d before the previous one, %d", ts, enc.ts)
	case synced < enc.claimed || synced > off:
		return fmt.Errorf("segment: %d bytes synced at offset %d, after a claim of %d", synced, off, enc.claimed)
	}
	return nil
}

// appendHead appends a frame head. The synced offset is written only when
// it is more than the frames claimed so far (0 says "as before").
func (enc *Encoder) appendHead(dst []byte, synced int64, version uint64, ts int64, L, count uint64) []byte {
	claim := uint64(0)
	if synced > enc.claimed {
		claim = uint64(synced)
		enc.claimed = synced
	}
	return appendHead(dst, enc.hdr, L, version-enc.hdr.BaseVersion, uint64(ts-enc.ts), claim, count)
}

func appendHead(dst []byte, h Header, L, vdelta, tdelta, synced, count uint64) []byte {
	start := len(dst)
	dst = append(dst, h.tag(), 0, 0, 0)
	dst = binary.AppendUvarint(dst, L)
	dst = binary.AppendUvarint(dst, vdelta)
	dst = binary.AppendUvarint(dst, tdelta)
	dst = binary.AppendUvarint(dst, synced)
	dst = binary.AppendUvarint(dst, count)
	putHeadCheck(dst[start+1:], headCheck(h.Salt, dst[start+varintsAt:]))
	return dst
}

// WrapEntries appends to dst a frame of a segment with header h whose
// head holds the given fields (synced 0: no claim) and whose entries are
// the bytes entries, with a correct head check and checksum. It exists
// for tools and fuzzing: nothing is checked, so the frame need not
// decode.
func WrapEntries(dst []byte, h Header, vdelta, tdelta, synced, count uint64, entries []byte) []byte {
	start := len(dst)
	dst = appendHead(dst, h, uint64(len(entries))+checksumSize, vdelta, tdelta, synced, count)
	dst = append(dst, entries...)
	return binary.LittleEndian.AppendUint32(dst, frameChecksum(h.Salt, dst[start:]))
}

// dupKey reports a (run, key) pair that occurs twice in pairs. Up to 8
// pairs are compared each with each; more are hashed into set (scratch,
// reused), and pairs are compared only if two hashes are equal (a 64-bit
// collision of distinct pairs costs a second pass, nothing else). The
// pair it returns is a copy: pairs may be views of bytes the caller does
// not own.
func dupKey(pairs [][2]string, set *hashset.Set) ([2]string, bool) {
	clone := func(p [2]string) [2]string { return [2]string{strings.Clone(p[0]), strings.Clone(p[1])} }
	if len(pairs) <= 8 {
		for i := 1; i < len(pairs); i++ {
			for j := 0; j < i; j++ {
				if pairs[i] == pairs[j] {
					return clone(pairs[i]), true
				}
			}
		}
		return [2]string{}, false
	}
	set.Reset(len(pairs))
	run, rh := "", uint64(0)
	equal := false
	for i, p := range pairs {
		if i == 0 || p[0] != run {
			run, rh = p[0], xxhash.Sum64String(p[0])
		}
		if set.Add(bits.RotateLeft64(rh, 31) ^ xxhash.Sum64String(p[1])) {
			equal = true
			break
		}
	}
	if !equal {
		return [2]string{}, false
	}
	seen := make(map[[2]string]struct{}, len(pairs))
	for _, p := range pairs {
		if _, ok := seen[p]; ok {
			return clone(p), true
		}
		seen[p] = struct{}{}
	}
	return [2]string{}, false
}
