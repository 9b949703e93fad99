package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/strata-kv/strata/internal/hashset"
	"io"
	"math"
	"unsafe"
)

// Scanner decodes the frames of one segment in order. It holds what
// decoding a frame depends on: the header (salt, base version), the runs
// named so far, the previous frame's timestamp and the synced offset the
// frames claimed.
type Scanner struct {
	hdr       Header
	data      []byte
	off       int64
	next      uint64 // version the next commit frame must carry
	ts        int64  // timestamp of the previous frame
	synced    int64  // synced offset the frames claimed so far
	commitEnd int64  // where the last commit frame ends
	runs      [][]byte
	names     map[string]struct{} // the runs' names, to refuse one named twice
	// Scratch for the duplicate-key check of a batch, reused from frame
	// to frame.
	pairs [][2]string
	dups  hashset.Set // scratch of the duplicate-key check
}

// NewScanner checks the header at the start of data (a whole segment
// file) and returns a Scanner positioned at its first frame.
func NewScanner(data []byte) (*Scanner, error) {
	h, err := DecodeHeader(data)
	if err != nil {
		return nil, err
	}
	return newScanner(h, data), nil
}

func newScanner(h Header, data []byte) *Scanner {
	return &Scanner{hdr: h, data: data, off: HeaderSize, next: h.BaseVersion, ts: h.BaseTime,
		synced: HeaderSize, commitEnd: HeaderSize, names: map[string]struct{}{}}
}

// Header returns the segment's header.
func (s *Scanner) Header() Header { return s.hdr }

// Mark is a place between two frames of a segment where a scan can
// resume (ResumeScanner): what a Scanner knows there.
type Mark struct {
	Off       int64  // offset of the next frame
	Next      uint64 // version the next commit frame must carry
	TS        int64  // timestamp of the previous frame
	Synced    int64  // synced offset the frames before claimed
	CommitEnd int64  // where the last commit frame before it ends
	Runs      int    // runs the frames before it named
}

// Mark returns where the scanner stands (between two frames).
func (s *Scanner) Mark() Mark {
	return Mark{Off: s.off, Next: s.next, TS: s.ts, Synced: s.synced, CommitEnd: s.commitEnd, Runs: len(s.runs)}
}

// RunNames returns the runs the frames scanned so far named, in order:
// views of the segment's bytes.
func (s *Scanner) RunNames() [][]byte { return s.runs }

// ResumeScanner returns a scanner of data (a whole segment, header
// included) that goes on from m, a Mark of a scan of the same segment;
// runs are the runs that scan named (at least m.Runs of them, in order).
func ResumeScanner(data []byte, m Mark, runs [][]byte) (*Scanner, error) {
	h, err := DecodeHeader(data)
	if err != nil {
		return nil, err
	}
	if m.Runs > len(runs) || m.Off < HeaderSize || m.Off > int64(len(data)) {
		return nil, fmt.Errorf("%w: a mark at offset %d after %d runs, of a segment of %d bytes with %d runs known", ErrMalformed, m.Off, m.Runs, len(data), len(runs))
	}
	s := newScanner(h, data)
	s.off, s.next, s.ts, s.synced, s.commitEnd = m.Off, m.Next, m.TS, m.Synced, m.CommitEnd
	s.runs = runs[:m.Runs:m.Runs]
	for _, r := range s.runs {
		s.names[string(r)] = struct{}{}
	}
	return s, nil
}

// Offset returns the offset of the next frame: after a failed Next, where
// the bad frame starts.
func (s *Scanner) Offset() int64 { return s.off }

// NextVersion returns the version the next commit frame must carry (in a
// compacted segment, the lowest it may carry).
func (s *Scanner) NextVersion() uint64 { return s.next }

// LastTime returns the timestamp of the last frame decoded (the header's
// base time before the first).
func (s *Scanner) LastTime() int64 { return s.ts }

// Next decodes and verifies the frame at the scanner's offset and moves
// past it. At the end of the data it returns io.EOF. Errors wrap
// ErrTruncated, ErrChecksum, ErrMalformed or ErrSequence; after one the
// scanner stays where the bad frame starts.
func (s *Scanner) Next() (Frame, error) {
	if s.off >= int64(len(s.data)) {
		return Frame{}, io.EOF
	}
	hd, err := parseHead(&s.hdr, s.data, s.off)
	if err != nil {
		return Frame{}, err
	}
	if hd.size > int64(len(s.data))-s.off {
		return Frame{}, fmt.Errorf("%w: frame of %d bytes, %d left", ErrTruncated, hd.size, int64(len(s.data))-s.off)
	}
	fb := s.data[s.off : s.off+hd.size : s.off+hd.size]
	body := fb[:len(fb)-checksumSize]
	if binary.LittleEndian.Uint32(fb[len(body):]) != frameChecksum(s.hdr.Salt, body) {
		return Frame{}, ErrChecksum
	}
	// The frame is intact: whatever is wrong with it now, a crash did not
	// cause it (frames moved, cut out or repeated, or a writer's bug).
	c := entryCursor{b: body, p: hd.len, runs: s.runs, known: len(s.runs), grow: true, names: s.names}
	if err := s.fits(&hd, &c); err != nil {
		c.undo()
		return Frame{}, fmt.Errorf("%w: %w", ErrSequence, err)
	}
	synced := s.synced
	if hd.synced != 0 {
		synced = int64(hd.synced)
	}
	version := s.hdr.BaseVersion + hd.vdelta
	f := Frame{
		Offset: s.off, Size: len(fb), Version: version, Timestamp: s.ts + int64(hd.tdelta),
		Synced: synced, Claims: hd.synced != 0, Count: int(hd.count),
		headLen: hd.len, data: fb, runs: c.runs, runBase: len(s.runs),
	}
	s.runs = c.runs
	s.off += hd.size
	s.ts, s.synced = f.Timestamp, synced
	if !f.Marker() {
		s.next = version + 1
		s.commitEnd = s.off
	}
	return f, nil
}

// Skim checks the head check and checksum of the frame at the scanner's
// offset and moves past it, without decoding its entries or checking
// that it fits where it stands: for a segment whose frames were fully
// checked once (when its hint file was built) and only need proving
// undamaged. It returns the frame's version and whether it is a commit
// (not a sync marker); at the end of the data, io.EOF. A Scanner that
// skims must not also Next.
func (s *Scanner) Skim() (version uint64, commit bool, err error) {
	if s.off >= int64(len(s.data)) {
		return 0, false, io.EOF
	}
	hd, err := parseHead(&s.hdr, s.data, s.off)
	if err != nil {
		return 0, false, err
	}
	if hd.size > int64(len(s.data))-s.off {
		return 0, false, fmt.Errorf("%w: frame of %d bytes, %d left", ErrTruncated, hd.size, int64(len(s.data))-s.off)
	}
	fb := s.data[s.off : s.off+hd.size : s.off+hd.size]
	body := fb[:len(fb)-checksumSize]
	if binary.LittleEndian.Uint32(fb[len(body):]) != frameChecksum(s.hdr.Salt, body) {
		return 0, false, ErrChecksum
	}
	s.off += hd.size
	return s.hdr.BaseVersion + hd.vdelta, hd.count != 0, nil
}

// fits checks a verified frame against where it stands: its version, its
// claim, its timestamp, and its entries against the segment's runs.
func (s *Scanner) fits(hd *head, c *entryCursor) error {
	switch version := s.hdr.BaseVersion + hd.vdelta; {
	case s.hdr.Compacted() && hd.count == 0:
		return errors.New("a sync marker in a compacted segment")
	case s.hdr.Compacted() && (version < s.next || version > s.hdr.Last):
		return fmt.Errorf("version %d in a compacted segment at version %d, covering up to %d", version, s.next, s.hdr.Last)
	case !s.hdr.Compacted() && version != s.next:
		return fmt.Errorf("version %d where %d comes next", version, s.next)
	}
	if hd.synced != 0 && (hd.synced > uint64(s.off) || int64(hd.synced) <= s.synced) {
		return fmt.Errorf("the frame claims %d bytes synced, which cannot be at offset %d after a claim of %d", hd.synced, s.off, s.synced)
	}
	if hd.tdelta > uint64(math.MaxInt64-s.ts) {
		return errors.New("timestamp overflows")
	}
	s.pairs = s.pairs[:0]
	for i := uint64(0); i < hd.count; i++ {
		e, err := c.next()
		if err != nil {
			return err
		}
		if hd.count > 1 {
			// Views of the frame's bytes, not copies: the check keeps none.
			s.pairs = append(s.pairs, [2]string{unsafe.String(unsafe.SliceData(e.Run), len(e.Run)),
				unsafe.String(unsafe.SliceData(e.Key), len(e.Key))})
		}
	}
	if c.p != len(c.b) {
		return fmt.Errorf("%w: %d bytes after the last entry", ErrMalformed, len(c.b)-c.p)
	}
	k, dup := dupKey(s.pairs, &s.dups)
	clear(s.pairs) // keep no views of the bytes
	if cap(s.pairs) > maxScratchPairs {
		s.pairs, s.dups = nil, hashset.Set{}
	}
	if dup {
		return fmt.Errorf("%w: key %q of run %q twice in one commit", ErrMalformed, k[1], k[0])
	}
	return nil
}

// Verdict says what the bad frame where Next failed with err is, as
// recovery decides it: a torn tail (torn true) if the segment is the
// newest, the frame did not verify (or was cut short), and SyncProof
// finds no claim that its bytes had been fsynced; corruption otherwise.
// proof is the claiming frame's offset when there is one (-1 when the
// proof is many verified heads, or there is none).
func (s *Scanner) Verdict(err error, newest bool) (torn bool, proof int64) {
	if !newest || errors.Is(err, ErrSequence) {
		return false, -1
	}
	proof, proven := s.SyncProof()
	return !proven, proof
}

// SyncProof looks, after a failed Next, for evidence that the bytes where
// the bad frame starts had been fsynced: a frame of this segment (checked
// under its salt, with a version at or above the one expected next) that
// claims more bytes of the file synced than that offset. It returns the
// proving frame's offset. Without one, nothing shows the damaged bytes
// ever reached the disk: they are a torn tail.
//
// A claim is a statement the writer made about the file when the claimed
// bytes were durable, so it holds wherever the frame's bytes now lie: a
// copy of a frame inside a stored value claims only what was true when
// the frame was written, which is no more than the offsets before it.
// Only a copy of a frame written after the bad bytes were fsynced can
// claim them, and then the claim is true.
//
// It runs in time linear in the bytes after the bad frame (see the
// package doc): candidates are found by a byte search and tested in
// constant time by their head check; a candidate whose head verifies and
// claims the bad bytes has its body hashed. If bodies that fail to verify
// add up to twice the bytes searched, the search stops and counts that as
// proof: heads that verify and claim the bytes were synced, many times
// over, are copies of a true claim (a random head passes with probability
// 2^-32).
func (s *Scanner) SyncProof() (int64, bool) {
	off, ok, _ := s.syncProof()
	return off, ok
}

// syncProof is SyncProof; it also returns the work done, in bytes looked
// at, for the test that checks it is linear.
func (s *Scanner) syncProof() (int64, bool, int64) {
	bad := s.off
	proof := int64(-1)
	// A claim beyond the claiming frame's own offset is no real one.
	work, exhausted := s.later(func(pos int64, hd *head) bool { return hd.synced > uint64(bad) && hd.synced <= uint64(pos) },
		func(pos int64, _ *head) bool { proof = pos; return false })
	if exhausted && proof < 0 {
		return -1, true, work
	}
	return proof, proof >= 0, work
}

// Survey describes, after a failed Next, the frames after the bad one
// that verify (see SyncProof): how many and their versions. Tools use it
// to report damage; whether the damage is torn or corruption is
// SyncProof's to say.
type Survey struct {
	Frames       int    // frames that verify after the bad one
	First, Last  uint64 // their lowest and highest version (markers count as the version they announce)
	NextVerified int64  // offset of the first frame that verifies after the bad one; -1 if none
	// Incomplete is set when the survey stopped early: bodies that failed
	// to verify cost twice the bytes after the bad frame.
	Incomplete bool
}

// Survey scans every byte after the bad frame, in time linear in them.
func (s *Scanner) Survey() Survey {
	sv := Survey{NextVerified: -1}
	_, sv.Incomplete = s.later(func(int64, *head) bool { return true }, func(pos int64, hd *head) bool {
		v := s.hdr.BaseVersion + hd.vdelta
		if sv.Frames == 0 {
			sv.First, sv.NextVerified = v, pos
		}
		sv.Frames++
		sv.First, sv.Last = min(sv.First, v), max(sv.Last, v)
		return true
	})
	return sv
}

// later calls found for each frame after the scanner's offset that
// verifies under the segment's salt, with a version at or above the one
// expected next, in offset order, until found returns false. Only heads
// for which want is true have their body hashed. Candidate offsets come
// from a byte search for the tag and cost constant time each; bodies that
// fail to verify may cost up to twice the bytes searched, then it stops
// and reports exhausted. So the work (returned, in bytes looked at) is
// linear in the bytes after the offset.
func (s *Scanner) later(want, found func(pos int64, hd *head) bool) (work int64, exhausted bool) {
	tag := s.hdr.tag()
	budget := 2 * (int64(len(s.data)) - s.off)
	for pos := s.off + 1; pos < int64(len(s.data)); pos++ {
		i := bytes.IndexByte(s.data[pos:], tag)
		if i < 0 {
			break
		}
		work += int64(i) + 1
		pos += int64(i)
		hd, err := parseHead(&s.hdr, s.data, pos)
		work += maxHead
		if err != nil || s.hdr.BaseVersion+hd.vdelta < s.next || hd.size > int64(len(s.data))-pos || !want(pos, &hd) {
			continue
		}
		fb := s.data[pos : pos+hd.size]
		body := fb[:len(fb)-checksumSize]
		work += hd.size
		if binary.LittleEndian.Uint32(fb[len(body):]) != frameChecksum(s.hdr.Salt, body) {
			if budget -= hd.size; budget < 0 {
				return work, true
			}
			continue
		}
		if !found(pos, &hd) {
			break
		}
		pos += hd.size - 1 // frames do not overlap
	}
	return work, false
}
