package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// Format constants. Changing any of them changes the on-disk format.
const (
	Magic         = "STRATA\x00S"
	FormatVersion = 1
	HeaderSize    = 32

	FrameHeaderSize = 12 // length + checksum
	frameFixedBody  = 20 // version + timestamp + entry count
	EntryHeaderSize = 10

	// MaxFrameBody bounds a frame's body so a length field can be
	// checked before anything is read or allocated from it.
	MaxFrameBody = 1 << 31
	MaxRunLen    = 256
	MaxKeyLen    = 1024
)

// Entry kinds.
const (
	KindPut       uint8 = 1
	KindTombstone uint8 = 2
)

// Value codecs.
const (
	CodecRaw uint8 = 0
	CodecS2  uint8 = 1
)

// Errors returned by the decoders. Recovery turns them into corruption
// or torn-write reports with a file and an offset.
var (
	// ErrTruncated: the bytes end before the frame does.
	ErrTruncated = errors.New("segment: frame truncated")
	// ErrChecksum: the frame's checksum does not match its bytes.
	ErrChecksum = errors.New("segment: checksum mismatch")
	// ErrMalformed: the frame's bytes cannot be a frame Strata wrote.
	ErrMalformed = errors.New("segment: malformed frame")
	// ErrBadHeader: the segment header is damaged or not Strata's.
	ErrBadHeader = errors.New("segment: bad segment header")
)

// EncodeHeader returns the header of segment id.
func EncodeHeader(id uint32) []byte {
	h := make([]byte, HeaderSize)
	copy(h, Magic)
	binary.LittleEndian.PutUint32(h[8:], FormatVersion)
	binary.LittleEndian.PutUint32(h[12:], id)
	binary.LittleEndian.PutUint64(h[24:], xxhash.Sum64(h[:24]))
	return h
}

// DecodeHeader checks a segment header and returns its segment id.
func DecodeHeader(b []byte) (uint32, error) {
	if len(b) < HeaderSize {
		return 0, fmt.Errorf("%w: %d bytes, want %d", ErrBadHeader, len(b), HeaderSize)
	}
	if string(b[:8]) != Magic {
		return 0, fmt.Errorf("%w: wrong magic %q", ErrBadHeader, b[:8])
	}
	if binary.LittleEndian.Uint64(b[24:]) != xxhash.Sum64(b[:24]) {
		return 0, fmt.Errorf("%w: checksum mismatch", ErrBadHeader)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != FormatVersion {
		return 0, fmt.Errorf("%w: format version %d, this build reads %d", ErrBadHeader, v, FormatVersion)
	}
	if binary.LittleEndian.Uint64(b[16:]) != 0 {
		return 0, fmt.Errorf("%w: reserved bytes not zero", ErrBadHeader)
	}
	return binary.LittleEndian.Uint32(b[12:]), nil
}

// Entry is one decoded entry of a frame. Its slices point into the frame's
// bytes (a mapping, usually): copy what must outlive them.
type Entry struct {
	Kind  uint8
	Codec uint8
	Run   []byte
	Key   []byte
	Value []byte // stored bytes, compressed when Codec != CodecRaw
	// ValueOffset is the offset of Value from the start of the frame.
	ValueOffset int
}

// Frame is a decoded, verified frame. Its slices point into the decoded
// bytes.
type Frame struct {
	Version   uint64
	Timestamp int64 // Unix microseconds
	Count     int   // number of entries
	Size      int   // bytes the frame occupies, header included
	body      []byte
}

// Entries calls fn for each entry in order. DecodeFrame has already
// validated them, so fn sees well-formed entries only.
func (f *Frame) Entries(fn func(e Entry) error) error {
	off := frameFixedBody
	for i := 0; i < f.Count; i++ {
		e, n, err := parseEntry(f.body, off)
		if err != nil {
			return err // cannot happen for a Frame from DecodeFrame
		}
		e.ValueOffset += FrameHeaderSize
		if err := fn(e); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// parseEntry decodes the entry at body[off:]. It returns the entry (with
// ValueOffset relative to body) and its encoded size.
func parseEntry(body []byte, off int) (Entry, int, error) {
	rest := body[off:]
	if len(rest) < EntryHeaderSize {
		return Entry{}, 0, fmt.Errorf("%w: entry header past end of frame", ErrMalformed)
	}
	kind, codec := rest[0], rest[1]
	rl := int(binary.LittleEndian.Uint16(rest[2:]))
	kl := int(binary.LittleEndian.Uint16(rest[4:]))
	vl := int64(binary.LittleEndian.Uint32(rest[6:]))
	switch {
	case kind != KindPut && kind != KindTombstone:
		return Entry{}, 0, fmt.Errorf("%w: entry kind %d", ErrMalformed, kind)
	case codec != CodecRaw && codec != CodecS2:
		return Entry{}, 0, fmt.Errorf("%w: codec %d", ErrMalformed, codec)
	case kind == KindTombstone && (codec != CodecRaw || vl != 0):
		return Entry{}, 0, fmt.Errorf("%w: tombstone with a value", ErrMalformed)
	case rl == 0 || rl > MaxRunLen:
		return Entry{}, 0, fmt.Errorf("%w: run length %d", ErrMalformed, rl)
	case kl == 0 || kl > MaxKeyLen:
		return Entry{}, 0, fmt.Errorf("%w: key length %d", ErrMalformed, kl)
	}
	need := int64(EntryHeaderSize+rl+kl) + vl
	if need > int64(len(rest)) {
		return Entry{}, 0, fmt.Errorf("%w: entry of %d bytes past end of frame", ErrMalformed, need)
	}
	p := EntryHeaderSize
	e := Entry{Kind: kind, Codec: codec}
	e.Run = rest[p : p+rl : p+rl]
	p += rl
	e.Key = rest[p : p+kl : p+kl]
	p += kl
	e.Value = rest[p : p+int(vl) : p+int(vl)]
	e.ValueOffset = off + p
	return e, int(need), nil
}

// DecodeFrame decodes and verifies the frame at the start of b. On success
// the frame's Size says how many bytes of b it occupies. ErrTruncated means
// b ends before the frame's declared end (or its header); ErrChecksum and
// ErrMalformed mean the bytes are damaged.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) < FrameHeaderSize {
		return Frame{}, fmt.Errorf("%w: %d bytes left, frame header needs %d", ErrTruncated, len(b), FrameHeaderSize)
	}
	bodyLen := int64(binary.LittleEndian.Uint32(b))
	if bodyLen < frameFixedBody+EntryHeaderSize+2 || bodyLen > MaxFrameBody {
		return Frame{}, fmt.Errorf("%w: body length %d", ErrMalformed, bodyLen)
	}
	if bodyLen > int64(len(b)-FrameHeaderSize) {
		return Frame{}, fmt.Errorf("%w: body of %d bytes, %d left", ErrTruncated, bodyLen, len(b)-FrameHeaderSize)
	}
	body := b[FrameHeaderSize : FrameHeaderSize+bodyLen]
	if binary.LittleEndian.Uint64(b[4:]) != frameChecksum(b[:4], body) {
		return Frame{}, ErrChecksum
	}
	f := Frame{
		Version:   binary.LittleEndian.Uint64(body),
		Timestamp: int64(binary.LittleEndian.Uint64(body[8:])),
		Count:     int(binary.LittleEndian.Uint32(body[16:])),
		Size:      FrameHeaderSize + int(bodyLen),
		body:      body,
	}
	if f.Version == 0 {
		return Frame{}, fmt.Errorf("%w: version 0", ErrMalformed)
	}
	if f.Count == 0 || f.Count > len(body)/EntryHeaderSize {
		return Frame{}, fmt.Errorf("%w: entry count %d", ErrMalformed, f.Count)
	}
	off := frameFixedBody
	for i := 0; i < f.Count; i++ {
		_, n, err := parseEntry(body, off)
		if err != nil {
			return Frame{}, err
		}
		off += n
	}
	if off != len(body) {
		return Frame{}, fmt.Errorf("%w: %d bytes after the last entry", ErrMalformed, len(body)-off)
	}
	return f, nil
}

func frameChecksum(lenField, body []byte) uint64 {
	var d xxhash.Digest
	d.Reset()
	d.Write(lenField)
	d.Write(body)
	return d.Sum64()
}

// EntryRef locates an entry's stored value inside an entries blob built by
// AppendEntry.
type EntryRef struct {
	Offset int // offset of the stored value from the start of the blob
	Len    int // stored length
	Codec  uint8
}

// AppendEntry appends one encoded entry to blob. run and key must respect
// MaxRunLen and MaxKeyLen (callers validate; a violation panics, it is a
// programming error). For a put, value holds the value's bytes (not yet
// compressed; compress decides whether to try). The returned EntryRef says
// where the stored value lies in the returned blob.
func AppendEntry(blob []byte, kind uint8, run, key string, value []byte, compress bool) ([]byte, EntryRef) {
	if kind == KindTombstone {
		return AppendStoredEntry(blob, kind, CodecRaw, run, key, nil)
	}
	if compress {
		if b, ref, ok := appendCompressed(blob, kind, run, key, value); ok {
			return b, ref
		}
	}
	return AppendStoredEntry(blob, kind, CodecRaw, run, key, value)
}

// AppendStoredEntry appends an entry whose value is already in its stored
// form (compressed by codec, or raw). It is AppendEntry without the
// compression step, for copying entries as they are.
func AppendStoredEntry(blob []byte, kind, codec uint8, run, key string, stored []byte) ([]byte, EntryRef) {
	if len(run) == 0 || len(run) > MaxRunLen || len(key) == 0 || len(key) > MaxKeyLen {
		panic(fmt.Sprintf("segment: AppendEntry with run of %d bytes and key of %d bytes", len(run), len(key)))
	}
	blob = slices.Grow(blob, EntryHeaderSize+len(run)+len(key)+len(stored))
	var h [EntryHeaderSize]byte
	h[0], h[1] = kind, codec
	binary.LittleEndian.PutUint16(h[2:], uint16(len(run)))
	binary.LittleEndian.PutUint16(h[4:], uint16(len(key)))
	binary.LittleEndian.PutUint32(h[6:], uint32(len(stored)))
	blob = append(blob, h[:]...)
	blob = append(blob, run...)
	blob = append(blob, key...)
	ref := EntryRef{Offset: len(blob), Len: len(stored), Codec: codec}
	blob = append(blob, stored...)
	return blob, ref
}

// FrameSize returns the size of a frame holding an entries blob of n bytes.
func FrameSize(blobLen int) int { return FrameHeaderSize + frameFixedBody + blobLen }

// EntriesOffset is the offset of the entries blob from the frame start:
// an EntryRef's Offset plus EntriesOffset is the value's offset in the frame.
const EntriesOffset = FrameHeaderSize + frameFixedBody

// AppendFrame appends a frame to dst holding count entries already encoded
// in blob by AppendEntry.
func AppendFrame(dst []byte, version uint64, ts int64, count int, blob []byte) []byte {
	start := len(dst)
	var h [FrameHeaderSize + frameFixedBody]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(frameFixedBody+len(blob)))
	binary.LittleEndian.PutUint64(h[12:], version)
	binary.LittleEndian.PutUint64(h[20:], uint64(ts))
	binary.LittleEndian.PutUint32(h[28:], uint32(count))
	dst = append(dst, h[:]...)
	dst = append(dst, blob...)
	sum := frameChecksum(dst[start:start+4], dst[start+FrameHeaderSize:])
	binary.LittleEndian.PutUint64(dst[start+4:], sum)
	return dst
}

// WrapBody returns a frame holding body as its body, with the length and
// checksum filled in. It exists for tools and fuzzing: the body is not
// checked.
func WrapBody(body []byte) []byte {
	f := make([]byte, FrameHeaderSize, FrameHeaderSize+len(body))
	binary.LittleEndian.PutUint32(f, uint32(len(body)))
	f = append(f, body...)
	binary.LittleEndian.PutUint64(f[4:], frameChecksum(f[:4], body))
	return f
}

// FindValidFrame reports whether any offset in b at or after from starts a
// frame that decodes and verifies. Recovery uses it to tell a torn tail
// (nothing valid follows) from corruption (a valid frame follows a bad
// one). It returns the offset of the first such frame.
func FindValidFrame(b []byte, from int) (int, bool) {
	for off := from; off+FrameHeaderSize+frameFixedBody <= len(b); off++ {
		bodyLen := int64(binary.LittleEndian.Uint32(b[off:]))
		if bodyLen < frameFixedBody+EntryHeaderSize+2 || bodyLen > int64(len(b)-off-FrameHeaderSize) {
			continue
		}
		if _, err := DecodeFrame(b[off:]); err == nil {
			return off, true
		}
	}
	return 0, false
}

// ScanFrames decodes the frames of a segment's bytes (header included)
// from HeaderSize on, calling fn for each valid frame with its offset. It
// stops at the first frame that does not decode and returns that offset
// and the decoding error; after a clean end it returns len(data) and nil.
// An error from fn stops the scan and is returned with the frame's offset.
func ScanFrames(data []byte, fn func(off int64, f *Frame) error) (int64, error) {
	off := HeaderSize
	for off < len(data) {
		f, err := DecodeFrame(data[off:])
		if err != nil {
			return int64(off), err
		}
		if err := fn(int64(off), &f); err != nil {
			return int64(off), err
		}
		off += f.Size
	}
	return int64(len(data)), nil
}

// IsTornTail reports whether a bad frame at off in the newest segment is a
// torn write: no valid frame starts anywhere after it.
func IsTornTail(data []byte, off int64) bool {
	_, found := FindValidFrame(data, int(off)+1)
	return !found
}
