package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"

	"github.com/cespare/xxhash/v2"
	"github.com/strata-kv/strata/internal/vfs"
)

// The manifest says which segment files are live. It is written whole,
// atomically (to "MANIFEST.tmp", fsynced, renamed over "MANIFEST", the
// directory fsynced: vfs.WriteFileAtomic), whenever the live set changes:
// when a writer starts a new log segment (at Open and at each roll) and
// when a compaction switches segments in and out. Recovery reads the
// segments it lists, in its order, then the log segments the writer
// started after it was written (ids from Active up that it does not
// list); any other segment file is left over from a compaction (an input
// whose removal a crash interrupted, or an output it never switched in)
// and is removed. A directory without a manifest is read as a log: every
// segment in id order (that is how directories written before manifests
// existed look).
//
//	offset  size  field
//	0       8     magic "STRATA\x00M"
//	8       4     manifest format version, uint32 LE (2; 1 is read too)
//	12      4     N, the number of segments listed, uint32 LE
//	16      8     generation, uint64 LE: one more than the manifest replaced
//	24      4     active, uint32 LE: the log segment new commits went to
//	              when it was written (0: none)
//	28      4     vanished gap, uint32 LE: trimmed less vanished (below),
//	              capped at 2^32-1, at most trimmed (version 1: reserved,
//	              zero)
//	32      8     trimmed, uint64 LE: compaction may have dropped versions
//	              that reads at a version below this one need (0: it
//	              dropped nothing); it may lie beyond the listed segments
//	              (a version of the active segment superseded what was
//	              dropped)
//	40      32*N  the segments, in version order, each:
//	              0  4  id, uint32 LE
//	              4  4  reserved, zero
//	              8  8  base version, uint64 LE
//	              16 8  last version covered, uint64 LE
//	              24 8  size of the file in bytes, uint64 LE
//	40+32N  8     xxhash64 of every byte before, uint64 LE
//
// The listed segments cover versions 1 through the last one's last
// version without a gap or an overlap, so a missing file, a file cut
// short or grown, and a segment swapped for another are all caught.
//
// Vanished, trimmed less the gap, bounds what compaction removed of keys
// it dropped whole (every version, their deletion last): each such
// deletion was at or below it, so a read at vanished or above that finds no
// trace of a key knows the key was absent, where a read below it cannot
// tell the key from one removed whole. A version 1 manifest, written
// before the gap existed, holds 0 there, which reads as vanished ==
// trimmed: what every read below trimmed assumed then (Encode writes
// version 2 whatever it decoded: the bytes of a version 1 manifest do
// not encode back). A gap capped at 2^32-1 errs the same way (vanished
// above the truth). Builds that read only version 1 refuse version 2
// with an error naming the version, not as damage.

// ManifestName is the manifest's file name in a data directory.
const ManifestName = "MANIFEST"

const (
	manifestMagic   = "STRATA\x00M"
	manifestVersion = 2
	// manifestV1 is the version before the vanished gap: still read.
	manifestV1    = 1
	manifestHead  = 40
	manifestEntry = 32
	// maxManifestSegments bounds N before anything is allocated from it.
	maxManifestSegments = 1 << 24
)

// ErrBadManifest: the manifest is damaged or not Strata's.
var ErrBadManifest = errors.New("segment: bad manifest")

// Manifest is the decoded manifest: the live segments and what recovery
// needs to know about them.
type Manifest struct {
	Generation uint64
	Active     uint32
	Trimmed    uint64
	// Vanished is at most Trimmed: every key compaction removed whole had
	// its deletion at or below it (see the layout). Encode stores Trimmed less
	// Vanished, capped, and treats a Vanished above Trimmed as Trimmed.
	Vanished uint64
	Segments []SegmentInfo // in version order
}

// SegmentInfo describes a live sealed segment.
type SegmentInfo struct {
	ID         uint32
	Base, Last uint64 // the versions it covers
	Size       int64  // its file's size
}

// Encode returns the manifest's bytes.
func (m *Manifest) Encode() []byte {
	b := make([]byte, manifestHead, manifestHead+manifestEntry*len(m.Segments)+8)
	copy(b, manifestMagic)
	binary.LittleEndian.PutUint32(b[8:], manifestVersion)
	binary.LittleEndian.PutUint32(b[12:], uint32(len(m.Segments)))
	binary.LittleEndian.PutUint64(b[16:], m.Generation)
	binary.LittleEndian.PutUint32(b[24:], m.Active)
	binary.LittleEndian.PutUint32(b[28:], m.vanishedGap())
	binary.LittleEndian.PutUint64(b[32:], m.Trimmed)
	for _, s := range m.Segments {
		b = binary.LittleEndian.AppendUint32(b, s.ID)
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint64(b, s.Base)
		b = binary.LittleEndian.AppendUint64(b, s.Last)
		b = binary.LittleEndian.AppendUint64(b, uint64(s.Size))
	}
	return binary.LittleEndian.AppendUint64(b, xxhash.Sum64(b))
}

// DecodeManifest checks and decodes a manifest's bytes. Errors wrap
// ErrBadManifest.
func DecodeManifest(b []byte) (*Manifest, error) {
	bad := func(format string, args ...any) (*Manifest, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrBadManifest}, args...)...)
	}
	if len(b) < manifestHead+8 {
		return bad("%d bytes, too short", len(b))
	}
	if string(b[:8]) != manifestMagic {
		return bad("wrong magic %q", b[:8])
	}
	end := len(b) - 8
	if binary.LittleEndian.Uint64(b[end:]) != xxhash.Sum64(b[:end]) {
		return bad("checksum mismatch")
	}
	version := binary.LittleEndian.Uint32(b[8:])
	if version != manifestVersion && version != manifestV1 {
		return bad("format version %d, this build reads %d and %d", version, manifestV1, manifestVersion)
	}
	n := binary.LittleEndian.Uint32(b[12:])
	if n > maxManifestSegments || int64(end) != manifestHead+int64(n)*manifestEntry {
		return bad("%d segments in %d bytes", n, len(b))
	}
	trimmed, gap := binary.LittleEndian.Uint64(b[32:]), binary.LittleEndian.Uint32(b[28:])
	switch {
	case version == manifestV1 && gap != 0:
		return bad("reserved bytes not zero")
	case uint64(gap) > trimmed:
		return bad("vanished gap %d above trimmed %d", gap, trimmed)
	}
	m := &Manifest{
		Generation: binary.LittleEndian.Uint64(b[16:]),
		Active:     binary.LittleEndian.Uint32(b[24:]),
		Trimmed:    trimmed,
		Vanished:   trimmed - uint64(gap),
		Segments:   make([]SegmentInfo, n),
	}
	ids := make(map[uint32]bool, n)
	next := uint64(1)
	for i := range m.Segments {
		e := b[manifestHead+i*manifestEntry:]
		s := SegmentInfo{
			ID:   binary.LittleEndian.Uint32(e),
			Base: binary.LittleEndian.Uint64(e[8:]),
			Last: binary.LittleEndian.Uint64(e[16:]),
			Size: int64(binary.LittleEndian.Uint64(e[24:])),
		}
		switch {
		case binary.LittleEndian.Uint32(e[4:]) != 0:
			return bad("segment %d: reserved bytes not zero", i)
		case s.ID == 0 || ids[s.ID] || s.ID == m.Active:
			return bad("segment %d: id %d zero or listed twice", i, s.ID)
		case s.Base != next || s.Last < s.Base:
			return bad("segment %d (id %d) covers versions %d to %d where %d comes next", i, s.ID, s.Base, s.Last, next)
		case s.Size < HeaderSize:
			return bad("segment %d (id %d) of %d bytes", i, s.ID, s.Size)
		}
		ids[s.ID] = true
		next = s.Last + 1
		m.Segments[i] = s
	}
	return m, nil
}

// vanishedGap is the layout's vanished gap: Trimmed less Vanished (none
// where Vanished is above Trimmed), capped at 2^32-1.
func (m *Manifest) vanishedGap() uint32 {
	if m.Vanished >= m.Trimmed {
		return 0
	}
	return uint32(min(m.Trimmed-m.Vanished, math.MaxUint32))
}

// Last returns the last version the listed segments cover (0: none).
func (m *Manifest) Last() uint64 {
	if len(m.Segments) == 0 {
		return 0
	}
	return m.Segments[len(m.Segments)-1].Last
}

// WriteManifest replaces dir's manifest with m atomically.
func WriteManifest(fsys vfs.FS, dir string, m *Manifest) error {
	path := filepath.Join(dir, ManifestName)
	if err := vfs.WriteFileAtomic(fsys, path, m.Encode()); err != nil {
		return fmt.Errorf("write manifest %s: %w", path, err)
	}
	return nil
}

// ReadManifest reads dir's manifest. Without one it returns nil and no
// error; a damaged one gives an error wrapping ErrBadManifest.
func ReadManifest(fsys vfs.FS, dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestName)
	b, err := vfs.ReadFile(fsys, path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", path, err)
	}
	m, err := DecodeManifest(b)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	return m, nil
}
