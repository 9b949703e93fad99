package recovery

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/segment"
)

// ProblemKind says what is wrong with a data directory. The kinds before
// TornTail are corruption: Open fails on them (RecoverSalvage opens
// around them), all but WrongHint, which Open cannot see (it indexes a
// hint whose checksum, id, salt, size and versions match without
// decoding the segment's entries; only a bug or a forged file makes
// one). The others are reported but are not corruption.
type ProblemKind uint8

// The kinds of problems, in the order of ProblemKind's doc.
const (
	// BadManifest: the MANIFEST file does not decode.
	BadManifest ProblemKind = iota + 1
	// MissingSegment: the manifest names a segment whose file is gone.
	MissingSegment
	// StrayCompacted: a compacted segment in a directory with no
	// manifest to say whether it is live.
	StrayCompacted
	// BadHeader: a segment's header does not decode.
	BadHeader
	// VersionGap: a segment starts at another version than the one that
	// comes next (commits or a whole segment are missing).
	VersionGap
	// ManifestMismatch: a segment the manifest lists is of another size,
	// or covers other versions, than the manifest says.
	ManifestMismatch
	// BadFrame: a frame does not verify, or breaks the order of versions,
	// where its bytes are known to have been fsynced.
	BadFrame
	// WrongHint: a hint file that Open would use (its checksum, id,
	// salt, size and versions match the segment) lists other entries than
	// the segment holds. Only Verify with VerifyOptions.Hints finds it.
	WrongHint
	// TornTail: the end of the newest segment holds an incomplete write
	// that was never fsynced. A writable Open cuts it.
	TornTail
	// Leftover: a segment a compaction left behind (the manifest does not
	// list it). A writable Open removes it.
	Leftover
	// OrphanHint: the hint file of a segment that is gone. A writable
	// Open removes it.
	OrphanHint
	// Unreadable: a segment that could not be checked: permission denied,
	// or a format this release does not read (Err says which). Open fails
	// with an error that is not ErrCorrupt.
	Unreadable
)

var kindNames = [...]string{
	BadManifest: "bad manifest", MissingSegment: "missing segment", StrayCompacted: "stray compacted segment",
	BadHeader: "bad header", VersionGap: "version gap", ManifestMismatch: "manifest mismatch", BadFrame: "bad frame",
	WrongHint: "wrong hint", TornTail: "torn tail", Leftover: "leftover", OrphanHint: "orphan hint", Unreadable: "unreadable",
}

// String names the kind in a few words ("bad frame", "torn tail").
func (k ProblemKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("ProblemKind(%d)", uint8(k))
}

// Corrupt reports whether problems of kind k are corruption.
func (k ProblemKind) Corrupt() bool { return k >= BadManifest && k < TornTail }

// Problem is one thing wrong with a data directory, found by Verify or
// by Recover (whose *segment.CorruptError wraps it: errors.As finds it).
// Its fields say what and where; no one needs to parse its text.
type Problem struct {
	Kind ProblemKind
	// File is the path of the file at fault; Offset is where in it (0:
	// the file as a whole, or its header).
	File   string
	Offset int64
	// Bytes is the size of the damaged region: for a bad frame, up to
	// the next frame that verifies (or the end of the file); for a torn
	// tail, the torn bytes, not counting Unused.
	Bytes int64
	// Unused counts, for a torn tail, the zeros after the torn bytes:
	// space the writer had reserved ahead. Open cuts them too.
	Unused int64
	// Intact is the newest version before the problem that every earlier
	// one is intact up to: RecoverSalvage opens at it.
	Intact uint64
	// Want and Got are versions, where the problem is one of order: the
	// version that should come (or end a segment) and the one found.
	Want, Got uint64
	// Proof is, for a bad frame of the newest segment, the offset of a
	// later frame that claims the bad bytes had been fsynced, so they are
	// not a torn write (-1: none, or the proof is many frame heads).
	Proof int64
	// After describes the frames that verify after a bad frame or torn
	// bytes; they cannot be read in order.
	After segment.Survey
	// Err is the cause as the segment package words it: errors.Is(p,
	// segment.ErrChecksum), ErrSequence, ErrBadHeader and the like hold.
	Err error
}

// Error describes the problem without naming its file and offset (a
// *segment.CorruptError around it, or String, adds them).
func (p *Problem) Error() string {
	var s string
	if p.Err != nil {
		s = p.Err.Error()
	}
	switch {
	case p.Kind == TornTail:
		zeros := ""
		if p.Unused > 0 {
			zeros = fmt.Sprintf(", then %d bytes of unused space", p.Unused)
		}
		s += fmt.Sprintf("; %d bytes of an incomplete last write that was never synced%s (a writable Open cuts them)", p.Bytes, zeros)
	case p.Kind == BadFrame && p.Proof >= 0:
		s += fmt.Sprintf("; the frame at offset %d claims these bytes had been fsynced, so this is not a torn write", p.Proof)
	case p.Kind == BadFrame && p.Proof == manyProofs:
		s += "; frames after it claim these bytes had been fsynced, so this is not a torn write"
	}
	if p.Kind == BadFrame || p.Kind == TornTail {
		switch sv := p.After; {
		case sv.Frames > 0:
			s += fmt.Sprintf("; %d intact frames follow (versions %d-%d, from offset %d) but cannot be read in order",
				sv.Frames, sv.First, sv.Last, sv.NextVerified)
		case sv.Incomplete:
			s += "; the bytes after it hold many frame heads whose frames do not verify (the survey of them stopped early)"
		}
	}
	return s
}

// String names the file and offset, then says what is wrong, with
// "CORRUPT" or the kind first.
func (p *Problem) String() string {
	label := "CORRUPT"
	if !p.Kind.Corrupt() {
		label = "WARNING " + p.Kind.String()
	}
	return fmt.Sprintf("%s: %s at offset %d: %s", label, p.File, p.Offset, p.Error())
}

// Unwrap returns the cause.
func (p *Problem) Unwrap() error { return p.Err }

// manyProofs is Problem.Proof when many frame heads after a bad frame of
// the newest segment claim its bytes were fsynced, but no one frame
// verifies to prove it.
const manyProofs = -2

// corrupt returns p as the error Recover fails with.
func corrupt(p *Problem) error { return &segment.CorruptError{File: p.File, Offset: p.Offset, Err: p} }

// The rules below are the only statement of what recovery accepts: Open
// (Recover) and Verify (strata-inspect) both apply them.

// startRule checks that the segment of header h at path starts at next,
// the version that comes after what precedes it.
func startRule(path string, h segment.Header, next uint64) *Problem {
	if h.BaseVersion == next {
		return nil
	}
	return &Problem{Kind: VersionGap, File: path, Want: next, Got: h.BaseVersion, Intact: next - 1, Proof: -1,
		Err: fmt.Errorf("%w: the segment starts at version %d but version %d comes next: commits or a segment are missing",
			segment.ErrSequence, h.BaseVersion, next)}
}

// listedRule checks a segment of header h and size bytes against what
// the manifest says of it (info; nil: not listed).
func listedRule(path string, h segment.Header, size int64, info *segment.SegmentInfo, intact uint64) *Problem {
	if info == nil {
		return nil
	}
	p := &Problem{Kind: ManifestMismatch, File: path, Intact: intact, Proof: -1}
	switch {
	case h.Compacted() && h.Last < info.Last:
		p.Want, p.Got = info.Last, h.Last
		p.Err = fmt.Errorf("%w: the segment covers versions %d to at most %d, the manifest says to %d", segment.ErrSequence, h.BaseVersion, h.Last, info.Last)
	case size != info.Size:
		p.Err = fmt.Errorf("%w: the file has %d bytes, the manifest says %d: it was cut or written after it was sealed", segment.ErrSequence, size, info.Size)
	default:
		return nil
	}
	return p
}

// frameRule judges the bad frame where sc stopped with err, in the
// segment at path (newest: the newest of the log, whose end may be
// torn): a torn tail, or corruption. intact is the last version read
// before it. It reads the mapped bytes after the frame (call it under
// segment.GuardFault).
func frameRule(path string, sc *segment.Scanner, data []byte, err error, newest bool, intact uint64) *Problem {
	bad := sc.Offset()
	torn, proof := sc.Verdict(err, newest)
	sv := sc.Survey()
	p := &Problem{Kind: BadFrame, File: path, Offset: bad, Intact: intact, Proof: -1, After: sv, Err: err, Want: intact + 1}
	if torn {
		// Zeros at the very end are space the writer had reserved
		// (segment.Writer.MapWrites) or a torn write that left nothing.
		end := segment.DataEnd(data, bad)
		p.Kind, p.Bytes, p.Unused = TornTail, end-bad, int64(len(data))-end
		return p
	}
	p.Bytes = int64(len(data)) - bad
	if sv.NextVerified >= 0 {
		p.Bytes = sv.NextVerified - bad
	}
	switch {
	case newest && proof >= 0:
		p.Proof = proof
	case newest && !errors.Is(err, segment.ErrSequence):
		p.Proof = manyProofs
	}
	return p
}

// endRule checks where a segment's versions end: last is the version of
// its last commit read (at offset end). A segment the manifest lists
// (info) ends at the version the manifest says; a compacted one covers
// its range whatever it kept of it, and nothing beyond: the manifest's,
// or its header's bound when it is not listed. It returns the version
// the segment covers to.
func endRule(path string, h segment.Header, info *segment.SegmentInfo, last uint64, end int64) (uint64, *Problem) {
	if info == nil && !h.Compacted() {
		return last, nil
	}
	bound := h.Last
	if info != nil {
		bound = info.Last
	}
	if (!h.Compacted() && last != bound) || (h.Compacted() && last > bound) {
		return last, &Problem{Kind: ManifestMismatch, File: path, Offset: end, Want: bound, Got: last, Intact: last, Proof: -1,
			Err: fmt.Errorf("%w: the segment's last commit is of version %d, the manifest says it ends at %d", segment.ErrSequence, last, bound)}
	}
	return bound, nil
}

// hintRule checks a hint file read for the segment s of st (newest: the
// newest of the log) and returns a reader of it if Open may use it; else
// why not (never corruption: Open rebuilds the hint). The records are
// checked as they are read.
func hintRule(hint []byte, s *segment.Sealed, st step, newest bool) (*segment.HintReader, error) {
	hr, err := segment.NewHintReader(hint)
	if err != nil {
		return nil, err
	}
	hd := hr.Header()
	switch {
	case !hd.Matches(s):
		return nil, fmt.Errorf("%w: it describes another segment, or this one at another size", segment.ErrBadHint)
	case st.listed != nil && hd.Last != st.listed.Last:
		return nil, fmt.Errorf("%w: it ends at version %d, the manifest says %d", segment.ErrBadHint, hd.Last, st.listed.Last)
	case newest && hd.Frames == 0:
		return nil, fmt.Errorf("%w: it lists no frame of the newest segment", segment.ErrBadHint)
	case hd.LastTime < 0 || hd.LastTime > index.MaxTimestamp:
		// Open would take it for the last commit's time.
		return nil, fmt.Errorf("%w: its last timestamp, %d, is beyond what the index holds", segment.ErrBadHint, hd.LastTime)
	}
	return hr, nil
}

// missingRule is the problem of a segment the manifest names (as listed,
// or as the active one) whose file is gone.
func missingRule(dir string, id uint32, info *segment.SegmentInfo) *Problem {
	p := &Problem{Kind: MissingSegment, File: filepath.Join(dir, segment.FileName(id)), Proof: -1}
	if info != nil {
		p.Want, p.Got = info.Base, info.Last
		p.Err = fmt.Errorf("%w: the manifest lists this segment (versions %d to %d) but the file is missing", segment.ErrSequence, info.Base, info.Last)
	} else {
		p.Err = fmt.Errorf("%w: the manifest names this segment as the one new commits went to, but the file is missing", segment.ErrSequence)
	}
	return p
}
