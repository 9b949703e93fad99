package segment

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
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
		synced: HeaderSize, commitEnd: HeaderSize}
}

// Header returns the segment's header.
func (s *Scanner) Header() Header { return s.hdr }

// Offset returns the offset of the next frame: after a failed Next, where
// the bad frame starts.
func (s *Scanner) Offset() int64 { return s.off }

// NextVersion returns the version the next commit frame must carry.
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
	// The frame is intact. Whatever does not fit where it stands means
	// frames were moved, cut out or repeated: no crash does that.
	version := s.hdr.BaseVersion + hd.vdelta
	if version != s.next {
		return Frame{}, fmt.Errorf("%w: version %d where %d comes next", ErrSequence, version, s.next)
	}
	synced := s.synced
	if hd.synced != 0 {
		if synced = int64(hd.synced); hd.synced > uint64(s.off) || synced <= s.synced {
			return Frame{}, fmt.Errorf("%w: the frame claims %d bytes synced, which cannot be at offset %d after a claim of %d",
				ErrSequence, hd.synced, s.off, s.synced)
		}
	}
	if hd.tdelta > uint64(math.MaxInt64-s.ts) {
		return Frame{}, fmt.Errorf("%w: timestamp overflows", ErrMalformed)
	}
	c := entryCursor{b: body, p: hd.len, runs: s.runs, known: len(s.runs), grow: true}
	var small [8][2][]byte
	seen := small[:0]
	var many map[string]bool
	for i := uint64(0); i < hd.count; i++ {
		e, err := c.next()
		if err != nil {
			return Frame{}, err
		}
		if hd.count == 1 {
			continue
		}
		// A key appears at most once in a commit.
		dup := false
		if hd.count <= uint64(len(small)) {
			for _, p := range seen {
				dup = dup || (string(p[0]) == string(e.Run) && string(p[1]) == string(e.Key))
			}
			seen = append(seen, [2][]byte{e.Run, e.Key})
		} else {
			if many == nil {
				many = make(map[string]bool, hd.count)
			}
			k := string(e.Run) + "\x00" + string(e.Key)
			dup = many[k]
			many[k] = true
		}
		if dup {
			return Frame{}, fmt.Errorf("%w: key %q of run %q twice in one commit", ErrMalformed, e.Key, e.Run)
		}
	}
	if c.p != len(body) {
		return Frame{}, fmt.Errorf("%w: %d bytes after the last entry", ErrMalformed, len(body)-c.p)
	}
	f := Frame{
		Offset: s.off, Size: len(fb), Version: version, Timestamp: s.ts + int64(hd.tdelta),
		Synced: synced, Claims: hd.synced != 0, Count: int(hd.count),
		headLen: hd.len, data: fb, runs: c.runs, runBase: len(s.runs),
	}
	s.runs = c.runs
	s.off += hd.size
	s.ts, s.synced = f.Timestamp, synced
	if !f.Marker() {
		s.next++
		s.commitEnd = s.off
	}
	return f, nil
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
// that verify (see SyncProof): how many, their versions, and whether one
// proves the bad bytes were fsynced. Tools use it to report damage.
type Survey struct {
	Frames       int    // frames that verify after the bad one
	First, Last  uint64 // their lowest and highest version (markers count as the version they announce)
	Proven       bool   // one of them claims the bad bytes were fsynced
	ProofOffset  int64  // the first such frame (-1: none, or the proof is many heads that verify)
	NextVerified int64  // offset of the first frame that verifies after the bad one; -1 if none
	// Incomplete is set when the search stopped early (see SyncProof).
	Incomplete bool
}

// Survey scans every byte after the bad frame, in time linear in them.
func (s *Scanner) Survey() Survey {
	bad := s.off
	sv := Survey{ProofOffset: -1, NextVerified: -1}
	_, sv.Incomplete = s.later(func(int64, *head) bool { return true }, func(pos int64, hd *head) bool {
		v := s.hdr.BaseVersion + hd.vdelta
		if sv.Frames == 0 {
			sv.First, sv.NextVerified = v, pos
		}
		sv.Frames++
		sv.First, sv.Last = min(sv.First, v), max(sv.Last, v)
		if !sv.Proven && hd.synced > uint64(bad) && hd.synced <= uint64(pos) {
			sv.Proven, sv.ProofOffset = true, pos
		}
		return true
	})
	sv.Proven = sv.Proven || sv.Incomplete
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

// State is what appending to a recovered segment needs: see Resume.
type State struct {
	Header   Header
	Size     int64    // bytes of valid frames, header included
	Runs     []string // run names by number
	LastTime int64    // timestamp of the last frame
	Next     uint64   // version the next commit takes
	// Claimed is the synced offset the frames claimed last; CommitEnd is
	// where the last commit frame ends (both HeaderSize if none).
	Claimed, CommitEnd int64
}

// State returns what Resume needs to append after the frames scanned so
// far. It copies the run names out of the scanned bytes.
func (s *Scanner) State() State {
	st := State{Header: s.hdr, Size: s.off, LastTime: s.ts, Next: s.next, Claimed: s.synced, CommitEnd: s.commitEnd,
		Runs: make([]string, len(s.runs))}
	for i, r := range s.runs {
		st.Runs[i] = string(r)
	}
	return st
}
