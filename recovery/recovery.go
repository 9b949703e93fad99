// Package recovery rebuilds Strata's index from the segment files of a
// data directory when it is opened. It is Strata's implementation, with no
// compatibility promise: applications use package kv, whose Open runs it.
//
// Rules (the byte layout is in the segment package doc): segments are
// read in the order of the manifest (segment.Manifest), then the log
// segments started after it was written, in id order (without a
// manifest, every segment in id order), and every frame is verified. A
// segment the manifest lists must be there, of the size it says, and
// cover the versions it says; files it does not list that a compaction
// left behind are removed. Versions run on without a gap from frame to
// frame of a log segment and from segment to segment (each header names
// the version its first commit takes; a compacted segment covers the
// range its header names, with the gaps where compaction dropped
// commits), so a commit or a whole segment missing from the middle of
// the log is caught even when the frames around it are intact.
//
// When a frame of the newest segment does not verify, recovery asks the
// frames after it whether its bytes had been fsynced (segment.Scanner's
// SyncProof). If none says so, the rest of the file is a torn tail (bytes
// of the last, unsynced writes, whatever their shape): it is cut off,
// logged and reported, and recovery goes on. (The newest segment is then
// fsynced and sealed like the others: new commits go to a new segment.)
// Any other bad frame or
// header, in any segment, is corruption: Recover fails with a
// *segment.CorruptError (errors.Is(err, kv.ErrCorrupt)) naming the file
// and offset, unless Options.Salvage is set (see there). Nothing is ever
// skipped silently, and no segment file is ever deleted but a compaction's
// leftovers.
//
// Hint files (see the segment package doc) spare recovery the decoding:
// a segment with a hint file that matches it (checksum, id, salt, size,
// versions) is indexed from the hint; its frames are only checked against
// their checksums, by other cores while the index is built (not read at
// all with Options.TrustHints). A segment without a usable hint is
// scanned frame by frame as above and its hint rebuilt and written
// (logged when a hint was there but of no use: never fatal). The hints,
// each sorted by key, are merged into the index in key order
// (index.Builder). Should a hinted segment fail its checksums, or its
// hint break a rule of the format, the index is emptied and recovery
// starts over, scanning that segment: damage is acted on in log order,
// and nothing is cut or moved before every earlier segment is known
// good. Hints of segments that are gone are removed.
//
// Verify applies the same rules (problem.go holds each once) to a
// directory without changing it and without stopping at the first
// problem, returning typed Problems (kind, file, offset, versions): it is
// what `strata-inspect verify` runs. Recover's corruption errors wrap the
// same *Problem, so no caller parses an error's text.
//
// Recovery is deterministic and idempotent: the same files give the same
// index, and a second run finds nothing to cut. It reads each byte a
// constant number of times, so it takes time linear in the bytes read.
package recovery

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// Options control a recovery.
type Options struct {
	// TrustHints recovers a segment that has a matching hint file from
	// the hint alone, without reading the segment's frames. By default
	// every frame of every segment is still verified against its
	// checksum (in parallel, before the index is built from the hints),
	// so damage to fsynced bytes fails Open whatever the hints say; with
	// TrustHints, damage to a hinted segment goes unseen until a read
	// decodes the damaged value or `strata-inspect verify` checks it.
	TrustHints bool
	// ReadOnly leaves the directory untouched: a torn tail is ignored
	// rather than cut, temporary files are left alone and, with Salvage,
	// nothing is moved. The newest segment is then returned mapped, like
	// the others.
	ReadOnly bool
	// Salvage opens at the newest version V such that every commit up to
	// V is intact, instead of failing on corruption. Every segment file
	// holding the damage or anything after it is renamed aside to
	// "<name>.damaged-<unix seconds>" (never deleted), and the intact
	// frames before the damage are copied back under the segment's own
	// name so that the directory holds exactly versions 1..V (of a
	// segment whose size is not the manifest's, the frames both count).
	// A listed or active segment whose file is missing is damage at its
	// place in the log;
	// a damaged manifest goes aside too and the segments are read as a
	// log in id order (a compacted segment among them is still
	// corruption, and nothing is moved).
	Salvage bool
	Logger  *slog.Logger // nil: discard
	// Now gives the time stamped on files moved aside (nil: time.Now).
	Now func() time.Time
}

// Result describes what recovery found and did.
type Result struct {
	// Sealed holds the mapped segments, in id order: all of them, but for
	// a newest one without frames when not ReadOnly. The caller owns and
	// closes them.
	Sealed []*segment.Sealed
	// Segments describes each of Sealed, for the manifest the writer
	// writes next: the versions it covers and its size.
	Segments []segment.SegmentInfo
	// NextID is the id of the segment new commits go to: a writer never
	// appends to a segment recovery found (see Recover). It is the id of
	// the newest log segment when that one holds no frame (the new one
	// replaces it), else one more than the highest id in the directory.
	NextID uint32
	// MaxID is the highest segment id in the directory (0: none); ids
	// above it are free.
	MaxID uint32
	// Trimmed, Vanished and Generation are the manifest's (0 without
	// one): reads at versions below Trimmed may need history compaction
	// dropped, and those below Vanished, of a key not found at all, may
	// need a key it dropped whole (see segment.Manifest).
	Trimmed    uint64
	Vanished   uint64
	Generation uint64
	// LastVersion and LastTimestamp are those of the newest commit.
	LastVersion   uint64
	LastTimestamp int64
	Frames        int
	Entries       int
	// TornFile and TornBytes describe a torn tail: cut, or with ReadOnly
	// ignored.
	TornFile  string
	TornBytes int64
	// UnusedBytes counts the zeros after the torn bytes (or after the
	// last frame), cut with them: space the writer had reserved for
	// frames to come, or a torn write that left only zeros.
	UnusedBytes int64
	// Damage is the corruption that Salvage opened around (nil if none).
	// SalvagedAt is then the version opened at, and Damaged lists the
	// files holding the damage or later data: renamed aside (MovedAside
	// lists the new names) unless ReadOnly.
	Damage     *segment.CorruptError
	SalvagedAt uint64
	Damaged    []string
	MovedAside []string
}

// Close releases the mappings of r.Sealed; use it when recovery's caller
// fails after Recover succeeded.
func (r *Result) Close() {
	for _, s := range r.Sealed {
		s.Close()
	}
	r.Sealed = nil
}

// Recover scans the segments in dir, adds every version to ix (which must
// be empty) and returns what it found.
func Recover(fs vfs.FS, dir string, ix *index.Index, opts Options) (*Result, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	names, err := fs.List(dir)
	if err != nil {
		return nil, fmt.Errorf("recovery: list %s: %w", dir, err)
	}
	var ids []uint32
	hints := map[uint32]bool{}
	for _, name := range names {
		if id, ok := segment.ParseFileName(name); ok {
			ids = append(ids, id)
		} else if id, ok := segment.ParseHintName(name); ok {
			hints[id] = true
		} else if (strings.HasSuffix(name, segment.Ext+".tmp") || strings.HasSuffix(name, segment.HintExt+".tmp") ||
			name == segment.ManifestName+".tmp") && !opts.ReadOnly {
			// A segment creation or manifest write that never reached
			// its rename.
			if err := fs.Remove(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("recovery: remove %s: %w", name, err)
			}
			opts.Logger.Info("strata: removed an unfinished file", "file", name)
		}
	}
	slices.Sort(ids)
	for id := range hints {
		if _, found := slices.BinarySearch(ids, id); found || opts.ReadOnly {
			continue
		}
		// The hint of a segment that is gone (compacted away, or moved
		// aside by a salvage).
		if err := fs.Remove(filepath.Join(dir, segment.HintName(id))); err != nil {
			return nil, fmt.Errorf("recovery: remove %s: %w", segment.HintName(id), err)
		}
		delete(hints, id)
	}

	r := &recoverer{fs: fs, dir: dir, ix: ix, opts: opts, res: &Result{NextID: 1}, hints: hints}
	if len(ids) > 0 {
		r.res.MaxID = ids[len(ids)-1]
		r.res.NextID = r.res.MaxID + 1
	}
	m, err := segment.ReadManifest(fs, dir)
	// badManifest is a damaged manifest a salvage opens around: the
	// segments are then read as a log in id order (one that is compacted
	// cannot be placed without the manifest: still corruption).
	var badManifest *segment.CorruptError
	if err != nil {
		if !errors.Is(err, segment.ErrBadManifest) {
			return nil, fmt.Errorf("recovery: %w", err)
		}
		ce := corrupt(&Problem{Kind: BadManifest, File: filepath.Join(dir, segment.ManifestName), Proof: -1, Err: err})
		if !opts.Salvage {
			return nil, ce
		}
		badManifest, m = ce.(*segment.CorruptError), nil
	}
	if m != nil {
		r.res.Trimmed, r.res.Vanished, r.res.Generation = m.Trimmed, m.Vanished, m.Generation
	}
	steps, leftovers, problems, err := plan(fs, dir, ids, m)
	if err != nil {
		return nil, err
	}
	for _, p := range problems {
		// A listed segment missing is damage a salvage opens before,
		// as it opens before damage inside a file (its step reports
		// it); the others end recovery here.
		if !opts.Salvage || !slices.ContainsFunc(steps, func(st step) bool { return st.missing == p }) {
			return nil, corrupt(problems[0])
		}
	}
	if !opts.ReadOnly {
		if err := r.removeLeftovers(leftovers); err != nil {
			return nil, err
		}
	}
	if badManifest != nil {
		r.res.Damaged = append(r.res.Damaged, badManifest.File)
		if !opts.ReadOnly {
			// Aside, never deleted (nor replacing one an earlier salvage
			// set aside: review 59); the writer's next manifest replaces it.
			names, err := fs.List(dir)
			if err != nil {
				return nil, fmt.Errorf("recovery: salvage: list %s: %w", dir, err)
			}
			a := asideName(&names, badManifest.File, opts.Now())
			if err := fs.Rename(badManifest.File, a); err != nil {
				return nil, fmt.Errorf("recovery: salvage: move %s aside: %w", badManifest.File, err)
			}
			if err := fs.SyncDir(dir); err != nil {
				return nil, fmt.Errorf("recovery: salvage: sync %s: %w", dir, err)
			}
			r.res.MovedAside = append(r.res.MovedAside, a)
		}
		opts.Logger.Warn("strata: salvage: the manifest is damaged; reading the segments as a log, in id order",
			"damage", badManifest, "moved", r.res.MovedAside)
	}
	first := *r.res // what the plan found, for a second pass
	r.prepareHints(steps)
	defer r.waitVerified() // no worker outlives Recover
	for {
		again, err := r.pass(steps, m != nil)
		if err != nil || !again {
			if err != nil {
				r.res.Close()
				return nil, err
			}
			if badManifest != nil && r.res.Damage == nil {
				r.res.Damage, r.res.SalvagedAt = badManifest, r.res.LastVersion
			}
			return r.res, nil
		}
		// A segment recovered from its hint failed its checksums, or its
		// hint a rule of the format: start over and scan it (damage is
		// then reported as any damage is).
		opts.Logger.Warn("strata: a segment recovered from its hint file does not verify, or the hint is malformed; recovering again without it")
		r.res.Close()
		ix.Reset()
		res := first
		// What the pass cut off the newest segment stays cut: report it.
		res.TornFile, res.TornBytes, res.UnusedBytes = r.res.TornFile, r.res.TornBytes, r.res.UnusedBytes
		r.res, r.sources = &res, nil
		for _, h := range r.ready {
			h.used = false
		}
	}
}

// pass recovers the segments of steps into the index. It reports again
// when a segment it took from its hint turned out not to verify: nothing
// it did then is kept, and the caller starts over. Before anything that
// could change the directory or end the recovery (the newest segment
// scanned and cut, a salvage, an error) it waits for the verification of
// every hinted segment, so that the first damage is the one acted on
// (segment asks before it cuts the newest segment's torn tail).
func (r *recoverer) pass(steps []step, manifest bool) (again bool, err error) {
	for i, st := range steps {
		done, err := r.segment(st, i == len(steps)-1 && st.listed == nil)
		if err == nil && done == nil {
			continue
		}
		if errors.Is(err, errAgain) {
			return true, nil
		}
		if done == nil {
			done = &damaged{}
		}
		if r.anyUnverified() {
			if done.s != nil {
				done.s.Close()
			}
			return true, nil
		}
		var ce *segment.CorruptError
		if err != nil && !(r.opts.Salvage && errors.As(err, &ce)) {
			if done.s != nil {
				done.s.Close()
			}
			return false, err
		}
		if err := r.salvage(steps[i:], ce, done, manifest); err != nil {
			return false, err
		}
		break
	}
	if err := r.build(); err != nil {
		if errors.Is(err, errAgain) {
			r.waitVerified()
			return true, nil
		}
		return false, err
	}
	return r.anyUnverified(), nil
}

// step is a segment recovery reads: listed in the manifest (listed says
// what it must hold), or part of the log after what the manifest lists.
type step struct {
	id     uint32
	listed *segment.SegmentInfo
	// missing is the problem of a listed segment whose file is gone.
	missing *Problem
}

// plan orders the segments of dir (ids, sorted) to read: those the
// manifest m lists, in its order, then the log segments the writer
// started after it was written, in id order. Segment files it does not
// list that are not part of the log after it are left over from a
// compaction: returned in leftovers (Recover removes them). A file the
// manifest names but the directory lacks, and a compacted segment with
// no manifest, are problems (corruption). Without a manifest every
// segment is part of the log.
func plan(fs vfs.FS, dir string, ids []uint32, m *segment.Manifest) (steps []step, leftovers []uint32, problems []*Problem, err error) {
	present := make(map[uint32]bool, len(ids))
	for _, id := range ids {
		present[id] = true
	}
	listed := map[uint32]bool{}
	if m != nil {
		for i := range m.Segments {
			info := &m.Segments[i]
			if !present[info.ID] {
				p := missingRule(dir, info.ID, info)
				problems = append(problems, p)
				// A salvage opens before it (see Recover).
				steps = append(steps, step{id: info.ID, listed: info, missing: p})
				continue
			}
			listed[info.ID] = true
			steps = append(steps, step{id: info.ID, listed: info})
		}
		if m.Active != 0 && !present[m.Active] {
			// The newest segment of the log, before any started after
			// it: a salvage opens before it too.
			p := missingRule(dir, m.Active, nil)
			problems = append(problems, p)
			steps = append(steps, step{id: m.Active, missing: p})
		}
	}
	for _, id := range ids {
		if listed[id] {
			continue
		}
		path := filepath.Join(dir, segment.FileName(id))
		leftover := m != nil && id < m.Active
		if !leftover {
			compacted, err := isCompacted(fs, path)
			if err != nil {
				return nil, nil, nil, err
			}
			if compacted && m == nil {
				problems = append(problems, &Problem{Kind: StrayCompacted, File: path, Proof: -1,
					Err: fmt.Errorf("%w: a compacted segment, but the directory has no manifest to say whether it is live", segment.ErrSequence)})
				continue
			}
			leftover = compacted
		}
		if leftover {
			leftovers = append(leftovers, id)
		} else {
			steps = append(steps, step{id: id})
		}
	}
	return steps, leftovers, problems, nil
}

// isCompacted reports whether the segment at path has a compacted
// segment's header; a header that does not decode, or a file it may not
// read, says false (reading the segment reports it).
func isCompacted(fs vfs.FS, path string) (bool, error) {
	f, err := fs.Open(path)
	if errors.Is(err, iofs.ErrPermission) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recovery: open %s: %w", path, err)
	}
	defer f.Close()
	b := make([]byte, segment.HeaderSize)
	if _, err := f.ReadAt(b, 0); err != nil {
		return false, nil
	}
	h, err := segment.DecodeHeader(b)
	return err == nil && h.Compacted(), nil
}

// removeLeftovers removes the segments a compaction left behind, and
// their hints.
func (r *recoverer) removeLeftovers(ids []uint32) error {
	for _, id := range ids {
		path := filepath.Join(r.dir, segment.FileName(id))
		if err := r.fs.Remove(path); err != nil {
			return fmt.Errorf("recovery: remove %s, left over from a compaction: %w", path, err)
		}
		if r.hints[id] {
			if err := r.fs.Remove(filepath.Join(r.dir, segment.HintName(id))); err != nil {
				return fmt.Errorf("recovery: remove the hint of %s: %w", path, err)
			}
			delete(r.hints, id)
		}
		r.opts.Logger.Info("strata: removed a segment left over from a compaction", "file", path)
	}
	return nil
}

type recoverer struct {
	fs      vfs.FS
	dir     string
	ix      *index.Index
	opts    Options
	res     *Result
	hints   map[uint32]bool // segments with a hint file
	ready   map[uint32]*hinted
	workers sync.WaitGroup // of prepareHints
	sources []source       // the hints of the segments kept, in version order
}

// hinted is what prepareHints finds for a segment with a hint file.
type hinted struct {
	hint []byte
	hd   segment.HintHeader
	rd   *segment.HintReader
	// bad says why the hint is of no use (nil: it is); set when checked
	// is closed. unverified says why the segment's frames did not verify
	// (recovery then scans it and reports the damage); set when verified
	// is closed.
	bad, unverified   error
	checked, verified chan struct{}
	s                 *segment.Sealed // the workers' own mapping, between the two
	used              bool            // this pass recovered the segment from the hint
}

// source is the hint of a segment recovery keeps: its entries, checked,
// go into the index.
type source struct {
	seg  uint32
	hint []byte
	rd   *segment.HintReader // a reader of hint not yet read from, or nil
}

// damaged is a segment where corruption was found, for salvage: its
// mapping (nil when the header is bad), how many bytes of it, header
// included, hold intact frames before the damage (0: none to keep), and
// the hint of those frames.
type damaged struct {
	s      *segment.Sealed
	intact int64
	hint   []byte
}

// segment recovers the segment of st; newest says it is the newest
// segment of the log, whose end may be torn. A segment with a hint file
// that matches it is recovered from its hint without reading its frames;
// any other is scanned, every frame verified, and its hint rebuilt. On
// corruption it returns a *CorruptError and, when the header was
// readable, the damaged segment (still mapped) for salvage.
func (r *recoverer) segment(st step, newest bool) (*damaged, error) {
	id := st.id
	path := filepath.Join(r.dir, segment.FileName(id))
	res := r.res
	if st.missing != nil {
		st.missing.Intact = res.LastVersion
		return &damaged{}, corrupt(st.missing)
	}
	s, err := segment.OpenSealed(r.fs, path)
	switch {
	case errors.Is(err, segment.ErrOldFormat):
		return nil, fmt.Errorf("strata: %s: %w; open it with the Strata release that wrote it and copy the data out", path, err)
	case errors.Is(err, segment.ErrBadHeader):
		return &damaged{}, corrupt(&Problem{Kind: BadHeader, File: path, Intact: res.LastVersion, Proof: -1, Err: err})
	case err != nil:
		return nil, fmt.Errorf("recovery: %w", err)
	}
	h := s.Header()
	if p := startRule(path, h, res.LastVersion+1); p != nil {
		return &damaged{s: s}, corrupt(p)
	}
	size := int64(len(s.Bytes()))
	var sizeProblem *Problem // a salvage reads the frames the file and the manifest share
	if p := listedRule(path, h, size, st.listed, res.LastVersion); p != nil {
		if !r.opts.Salvage || !listedSizeOnly(h, st.listed) {
			return &damaged{s: s}, corrupt(p)
		}
		sizeProblem = p
	}
	if sizeProblem == nil && r.ready[id] != nil && r.fromHint(st, s) {
		return nil, nil
	}
	if r.ready[id] == nil && !newest {
		r.opts.Logger.Info("strata: a sealed segment has no hint file: scanning it, and writing its hint unless read-only", "file", path)
	}
	var hb segment.HintBuilder
	defer hb.Release() // the hints encoded are copies
	sc := s.Scanner()
	if sizeProblem != nil {
		sc = s.ScannerTo(min(size, st.listed.Size))
	}
	var bad error
	scanErr := segment.GuardFault(path, 0, func() error {
		for {
			f, err := sc.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				bad = err
				return nil
			}
			if err := r.add(&f, &hb); err != nil {
				return fmt.Errorf("recovery: %s, frame at %d: %w", path, f.Offset, err)
			}
		}
	})
	if scanErr != nil {
		s.Close()
		return nil, scanErr
	}
	// encode returns the hint of the frames scanned, the first size bytes
	// of the segment.
	encode := func(size int64) (hint []byte, err error) {
		err = segment.GuardFault(path, 0, func() error {
			hint = hb.Encode(h, size, res.LastVersion)
			return nil
		})
		return hint, err
	}
	end := sc.Offset()
	// fail reports the corruption p, with the segment's intact frames
	// before it for salvage.
	fail := func(p *Problem) (*damaged, error) {
		hint, err := encode(end)
		if err != nil {
			s.Close()
			return nil, err
		}
		return &damaged{s: s, intact: end, hint: hint}, corrupt(p)
	}
	if sizeProblem != nil && bad == nil {
		// Every frame the manifest counts is intact: the damage is the
		// bytes after them (or, cut short at a frame's end, the frames
		// missing).
		sizeProblem.Offset, sizeProblem.Intact = end, res.LastVersion
		return fail(sizeProblem)
	}
	if bad != nil {
		var p *Problem
		if err := segment.GuardFault(path, end, func() error {
			p = frameRule(path, sc, s.Bytes(), bad, newest, res.LastVersion)
			return nil
		}); err != nil {
			s.Close()
			return nil, err
		}
		if p.Kind != TornTail {
			return fail(p)
		}
		res.TornBytes, res.UnusedBytes = p.Bytes, p.Unused
		if res.TornBytes > 0 {
			res.TornFile = path
		}
	}
	last, p := endRule(path, h, st.listed, res.LastVersion, end)
	if p != nil {
		return fail(p)
	}
	res.LastVersion = last
	hint, err := encode(end)
	if err != nil {
		s.Close()
		return nil, err
	}
	if !newest || r.opts.ReadOnly {
		// The scan read every page once; reads will map back the few
		// they need.
		s.Evict()
		s.Clip(end) // a read-only Open leaves a torn tail in the file
		r.keep(s, end, hint, end == size)
		if res.TornBytes > 0 {
			r.opts.Logger.Warn("strata: ignoring a torn write at the end of the newest segment (read-only open)",
				"file", path, "offset", end, "bytes", res.TornBytes)
		}
		return nil, nil
	}
	// The newest segment is never appended to again: new commits go to a
	// new segment, with a new salt, so that nothing a crash left in this
	// file's blocks, and nothing a copy of this directory writes under
	// the same salt, can ever pass for one of them. Cut its torn tail and
	// make it durable whole, as a sealed segment is; if it holds no frame
	// at all, the new segment takes its place.
	s.Close()
	if res.TornBytes > 0 {
		r.opts.Logger.Warn("strata: cut a torn write at the end of the newest segment (the last writes before a crash, never synced)",
			"file", path, "offset", end, "bytes", res.TornBytes, "last_version", res.LastVersion)
	}
	if res.UnusedBytes > 0 {
		r.opts.Logger.Info("strata: cut unused space at the end of the newest segment",
			"file", path, "offset", end+res.TornBytes, "bytes", res.UnusedBytes)
	}
	if end < size && r.anyUnverified() {
		return nil, errAgain // a hinted segment before this one is damaged
	}
	if err := truncate(r.fs, path, end, end < size); err != nil {
		return nil, err
	}
	if end == segment.HeaderSize {
		res.NextID = id
		return nil, nil
	}
	if s, err = segment.OpenSealed(r.fs, path); err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	r.keep(s, end, hint, true)
	return nil, nil
}

// prepareHints starts reading the hint files of the segments of steps,
// checking each against its segment and then, unless TrustHints,
// verifying every frame of the segment: on every core, first the checks
// in step order, then the verifications, while recovery goes on (a
// step's hint is used once its check is done; see pass for the
// verifications).
// listedSizeOnly reports whether the manifest entry info and the
// segment's header h agree but for the file's size (see listedRule).
func listedSizeOnly(h segment.Header, info *segment.SegmentInfo) bool {
	return !(h.Compacted() && h.Last < info.Last)
}

func (r *recoverer) prepareHints(steps []step) {
	r.ready = map[uint32]*hinted{}
	type job struct {
		st     step
		newest bool
		h      *hinted
	}
	var jobs []job
	for i, st := range steps {
		if r.hints[st.id] && st.missing == nil {
			h := &hinted{checked: make(chan struct{}), verified: make(chan struct{})}
			r.ready[st.id] = h
			jobs = append(jobs, job{st, i == len(steps)-1 && st.listed == nil, h})
		}
	}
	// One core is left to recovery itself, which builds the index
	// meanwhile.
	var next atomic.Int64
	for range min(max(runtime.GOMAXPROCS(0)-1, 1), len(jobs)) {
		r.workers.Go(func() {
			for {
				n := int(next.Add(1)) - 1
				switch {
				case n < len(jobs):
					j := jobs[n]
					r.check(j.st, j.newest, j.h)
					close(j.h.checked)
				case n < 2*len(jobs):
					j := jobs[n-len(jobs)]
					h := j.h
					<-h.checked
					if testHookVerify != nil {
						testHookVerify(j.st.id)
					}
					if h.s != nil {
						if !r.opts.TrustHints {
							h.unverified = verify(h.s, h.hd)
						}
						h.s.Close()
						h.s = nil
					}
					close(h.verified)
				default:
					return
				}
			}
		})
	}
}

// check reads and checks the hint of the segment of st (newest: the
// newest of the log) into h, leaving the segment mapped in h.s for its
// verification if the hint is of use.
func (r *recoverer) check(st step, newest bool, h *hinted) {
	h.hint, h.bad = segment.ReadHint(r.fs, r.dir, st.id)
	if h.bad != nil {
		return
	}
	s, err := segment.OpenSealed(r.fs, filepath.Join(r.dir, segment.FileName(st.id)))
	if err != nil {
		h.bad = err
		return
	}
	if h.rd, h.bad = hintRule(h.hint, s, st, newest); h.bad == nil {
		h.hd = h.rd.Header()
	}
	if h.bad != nil {
		s.Close()
		return
	}
	h.s = s
}

// anyUnverified waits for every verification and reports whether a
// segment this pass recovered from its hint failed it.
func (r *recoverer) anyUnverified() bool {
	r.waitVerified()
	for _, h := range r.ready {
		if h.used && h.unverified != nil {
			return true
		}
	}
	return false
}

// waitVerified waits for the workers of prepareHints to finish.
func (r *recoverer) waitVerified() { r.workers.Wait() }

// verify checks the checksum of every frame of s, and that the frames
// are in their places: versions one after another (a log segment; a sync
// marker names the next), or increasing within the range (a compacted
// one), ending where the hint says. (Their entries were checked when the
// hint was built from them: a frame whose checksum holds, where it was,
// is the frame it was; one moved from another place breaks the order.)
func verify(s *segment.Sealed, hd segment.HintHeader) error {
	sc := s.Scanner()
	h := s.Header()
	var frames uint64
	last := h.BaseVersion - 1
	evicted := int64(0)
	err := segment.GuardFault(s.Path(), 0, func() error {
		for {
			off := sc.Offset()
			if off-evicted >= evictEvery {
				// Give the pages read back as it goes: a verification
				// holds a few megabytes of the segment, not all of it.
				s.Evict()
				evicted = off
			}
			v, commit, err := sc.Skim()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			switch {
			case !h.Compacted() && v != last+1,
				h.Compacted() && (!commit || v <= last || v > h.Last):
				return fmt.Errorf("%w: the frame at offset %d has version %d after %d", segment.ErrSequence, off, v, last)
			}
			if commit {
				frames++
				last = v
			}
		}
	})
	switch {
	case err != nil:
		return err
	case frames != hd.Frames:
		return fmt.Errorf("%d frames, the hint says %d", frames, hd.Frames)
	case !s.Header().Compacted() && last != hd.Last:
		return fmt.Errorf("the last frame is of version %d, the hint says %d", last, hd.Last)
	}
	return nil
}

// evictEvery is how many bytes verify reads between two evictions of the
// pages it read.
const evictEvery = 8 << 20

// fromHint recovers segment s of st from its hint file, if prepareHints
// found that the hint matches the segment and (unless TrustHints) that
// every frame verifies; else it reports false (the segment is then
// scanned, and its hint rebuilt). The newest segment of the log is
// recovered from its hint only when the hint lists frames: a Close wrote
// it after the segment's last fsync, so there is no torn tail to look
// for.
func (r *recoverer) fromHint(st step, s *segment.Sealed) bool {
	h := r.ready[st.id]
	<-h.checked
	if h.bad != nil {
		r.opts.Logger.Warn("strata: rebuilding a hint file from its segment", "file", filepath.Join(r.dir, segment.HintName(st.id)), "err", h.bad)
		return false
	}
	select {
	case <-h.verified:
		if h.unverified != nil {
			return false // the scan finds and reports the damage
		}
	default: // still being verified: pass checks before it acts
	}
	h.used = true
	if testHookUsed != nil {
		testHookUsed(st.id)
	}
	res := r.res
	res.LastVersion = h.hd.Last
	res.LastTimestamp = max(res.LastTimestamp, h.hd.LastTime)
	res.Frames += int(h.hd.Frames)
	res.Entries += int(h.hd.Entries)
	r.keep(s, h.hd.Size, h.hint, false)
	r.sources[len(r.sources)-1].rd = h.rd
	h.rd = nil // a second pass reads it afresh
	return true
}

// add takes note of the entries of a verified frame. An error is the
// hint builder's: the index is built from its hint, so it must hold every
// entry.
func (r *recoverer) add(f *segment.Frame, hb *segment.HintBuilder) error {
	if f.Marker() {
		return nil
	}
	if err := hb.Add(f); err != nil {
		return err
	}
	r.res.Entries += f.Count
	r.res.LastVersion = f.Version
	r.res.LastTimestamp = max(r.res.LastTimestamp, f.Timestamp)
	r.res.Frames++
	return nil
}

// keep adds a recovered segment of size bytes, whose hint is hint, to
// the result; the versions recovered so far end with it. With write, the
// hint file is written (unless ReadOnly): a failure to is logged, not
// fatal, since the next Open rebuilds it.
func (r *recoverer) keep(s *segment.Sealed, size int64, hint []byte, write bool) {
	r.res.Sealed = append(r.res.Sealed, s)
	if base := s.Header().BaseVersion; r.res.LastVersion >= base {
		r.res.Segments = append(r.res.Segments, segment.SegmentInfo{ID: s.ID(), Base: base, Last: r.res.LastVersion, Size: size})
	}
	r.sources = append(r.sources, source{seg: s.ID(), hint: hint})
	if write && !r.opts.ReadOnly {
		if err := segment.WriteHint(r.fs, r.dir, s.ID(), hint); err != nil {
			r.opts.Logger.Warn("strata: could not write a hint file", "segment", s.Path(), "err", err)
		}
	}
}

// asideMark follows the name of a file a salvage moved aside.
const asideMark = ".damaged-"

// asideName returns the name path is moved aside to at now,
// "<path>.damaged-<unix seconds>", with ".N" after it if names (the
// directory's entries) holds that already: an earlier salvage's copy is
// never replaced. It adds the name to names.
func asideName(names *[]string, path string, now time.Time) string {
	stamp := fmt.Sprintf("%s%d", asideMark, now.Unix())
	a := path + stamp
	for n := 2; slices.Contains(*names, filepath.Base(a)); n++ {
		a = fmt.Sprintf("%s%s.%d", path, stamp, n)
	}
	*names = append(*names, filepath.Base(a))
	return a
}

// salvage opens around the corruption ce found in the first of steps (d
// describes that segment): everything from the damage on is moved aside,
// and the intact frames before it are kept under the segment's name (a
// compacted segment's too: the new manifest lists it as ending at its
// last intact version, as the format allows). With a manifest, a new one
// lists what is kept.
func (r *recoverer) salvage(steps []step, ce *segment.CorruptError, d *damaged, manifest bool) error {
	res := r.res
	res.Damage, res.SalvagedAt = ce, res.LastVersion
	// The versions cut may be all a key kept of a history compaction
	// trimmed: such a key is now found nowhere, as if removed whole, so
	// reads below the horizon of keys found nowhere may need what was
	// dropped (Vanished no longer bounds them).
	res.Vanished = res.Trimmed
	ids := make([]uint32, len(steps))
	paths := make([]string, len(steps)) // of the segments from the damage on
	for i, st := range steps {
		ids[i] = st.id
		paths[i] = filepath.Join(r.dir, segment.FileName(st.id))
	}
	res.Damaged = append(res.Damaged, paths...)
	log := r.opts.Logger
	if r.opts.ReadOnly {
		// Serve the intact prefix from the mapping; move nothing. Clipped,
		// as a torn tail is, so that what reads the segment's frames in
		// order (the change feed) ends before the damage (review 59).
		if d.s != nil {
			d.s.Clip(max(d.intact, segment.HeaderSize)) // (0: no frame intact)
			res.Sealed = append(res.Sealed, d.s)
			if d.hint != nil {
				r.sources = append(r.sources, source{seg: d.s.ID(), hint: d.hint})
			}
		}
		log.Warn("strata: salvage (read-only): serving the intact versions before the damage; nothing moved",
			"damage", ce, "version", res.SalvagedAt, "damaged_files", res.Damaged)
		return nil
	}
	// First the damaged segment: a copy of it whole goes aside, then its
	// intact frames replace it atomically, so no crash can leave the
	// directory without them. Then every later segment goes aside.
	names, err := r.fs.List(r.dir)
	if err != nil {
		return fmt.Errorf("recovery: salvage: list %s: %w", r.dir, err)
	}
	aside := func(path string) string { return asideName(&names, path, r.opts.Now()) }
	first := paths[0]
	res.NextID = ids[0]
	keptFirst := d.s != nil && d.intact > segment.HeaderSize
	if keptFirst {
		a := aside(first)
		err := segment.GuardFault(first, 0, func() error { return vfs.WriteFileAtomic(r.fs, a, d.s.Bytes()) })
		prefix := append([]byte(nil), d.s.Bytes()[:d.intact]...)
		d.s.Close()
		if err != nil {
			return fmt.Errorf("recovery: salvage: copy %s aside: %w", first, err)
		}
		res.MovedAside = append(res.MovedAside, a)
		if err := vfs.WriteFileAtomic(r.fs, first, prefix); err != nil {
			return fmt.Errorf("recovery: salvage: keep the intact part of %s: %w", first, err)
		}
		s, err := segment.OpenSealed(r.fs, first)
		if err != nil {
			return fmt.Errorf("recovery: salvage: %w", err)
		}
		r.keep(s, d.intact, d.hint, true)
	} else if steps[0].missing == nil { // a missing file has nothing to move
		if d.s != nil {
			d.s.Close()
		}
		a := aside(first)
		if err := r.fs.Rename(first, a); err != nil {
			return fmt.Errorf("recovery: salvage: move %s aside: %w", first, err)
		}
		res.MovedAside = append(res.MovedAside, a)
	}
	// New segments take ids past every kept one (a compacted segment
	// listed before the damage may have a higher id than the damaged
	// one).
	for _, s := range res.Sealed {
		res.NextID = max(res.NextID, s.ID()+1)
	}
	for _, path := range paths[1:] {
		a := aside(path)
		if err := r.fs.Rename(path, a); err != nil {
			return fmt.Errorf("recovery: salvage: move %s aside: %w", path, err)
		}
		res.MovedAside = append(res.MovedAside, a)
	}
	for _, id := range ids {
		// A hint of a file moved aside would describe nothing (the kept
		// prefix has just had its own written).
		if kept := id == ids[0] && keptFirst; !kept && r.hints[id] {
			if err := r.fs.Remove(filepath.Join(r.dir, segment.HintName(id))); err != nil {
				return fmt.Errorf("recovery: salvage: %w", err)
			}
		}
	}
	if err := r.fs.SyncDir(r.dir); err != nil {
		return fmt.Errorf("recovery: salvage: sync %s: %w", r.dir, err)
	}
	if manifest {
		// List exactly what is kept (no active segment: the writer's
		// next manifest names one).
		res.Generation++
		m := &segment.Manifest{Generation: res.Generation, Trimmed: min(res.Trimmed, res.LastVersion+1),
			Vanished: min(res.Vanished, res.LastVersion+1), Segments: res.Segments}
		if err := segment.WriteManifest(r.fs, r.dir, m); err != nil {
			return fmt.Errorf("recovery: salvage: %w", err)
		}
	}
	log.Warn("strata: salvage: opened at the last version before the damage; files holding the damage or later versions moved aside",
		"damage", ce, "version", res.SalvagedAt, "moved", res.MovedAside)
	return nil
}

// Test hooks: called before a segment's verification starts, and when a
// segment is recovered from its hint.
var testHookVerify, testHookUsed func(id uint32)

// errAgain: a pass must start over (see pass).
var errAgain = errors.New("recovery: start over")

// next moves c on. A record that breaks the format's rules in a hint
// file (its checksum held: a bug, or a forged file) marks the hint bad
// and is errAgain: the next pass scans the segment and rebuilds its hint.
func (r *recoverer) next(c *cursor) error {
	err := c.next()
	if err == nil && c.e != nil {
		err = indexable(c.e)
	}
	if h := r.ready[c.seg]; err != nil && h != nil && h.used {
		h.bad = err
		return errAgain
	}
	return err
}

// indexable checks what the index's records cannot hold (a version or a
// timestamp beyond its limits): a hint whose checksum held may still
// carry it, and is then bad; a segment that does fails recovery.
func indexable(e *segment.HintEntry) error {
	if e.Version > index.MaxVersion || e.Timestamp < 0 || e.Timestamp > index.MaxTimestamp {
		return fmt.Errorf("recovery: key %q of run %q, version %d, timestamp %d: %w", e.Key, e.Run, e.Version, e.Timestamp, index.ErrRange)
	}
	return nil
}

// build merges the hints of the segments kept, in key order, into the
// index: each key's versions come from the segments in version order.
// Run events (segment.EventRun) are replayed last, in version order with
// the entries of the runs they change (see events).
func (r *recoverer) build() error {
	var keys uint64
	h := make(cursors, 0, len(r.sources))
	for i, src := range r.sources {
		hr := src.rd
		if hr == nil {
			var err error
			if hr, err = segment.NewHintReader(src.hint); err != nil {
				return fmt.Errorf("recovery: the hint of segment %s: %w", segment.FileName(src.seg), err)
			}
		}
		keys += hr.Header().Keys
		c := &cursor{r: hr, seg: src.seg, order: i}
		if err := r.next(c); err != nil {
			return err
		}
		if c.e != nil {
			h = append(h, c)
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
	b, err := r.ix.Build(int(min(keys, 1<<26)))
	if err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	var evs events // run events come first: their run sorts first
	for len(h) > 0 {
		c := h[0]
		e := c.e
		rec := index.Record{
			Version:   e.Version,
			Timestamp: e.Timestamp,
			Segment:   c.seg,
			Field:     segment.FieldAt(e.Offset, int(e.Len)),
			Flags:     e.Codec << index.FlagCodecShift,
		}
		if e.Op == segment.OpDelete {
			rec.Flags |= index.FlagTombstone
			rec.Field = 0
		}
		held := false
		if string(e.Run) == segment.EventRun {
			if err := evs.note(e.Key, e.Version, e.Timestamp); err != nil {
				b.Finish()
				return fmt.Errorf("recovery: key %q of run %q, version %d, in segment %s: %w", e.Key, e.Run, e.Version, segment.FileName(c.seg), err)
			}
		} else {
			held = evs.hold(e.Run, e.Key, rec)
		}
		if !held {
			if err := b.Add(e.Run, e.Key, rec); err != nil {
				b.Finish()
				return fmt.Errorf("recovery: key %q of run %q, version %d, in segment %s: %w", e.Key, e.Run, e.Version, segment.FileName(c.seg), err)
			}
		}
		if err := r.next(c); err != nil {
			b.Finish()
			return err
		}
		if c.e == nil {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		h.down(0)
	}
	if err := b.Finish(); err != nil {
		return err
	}
	return evs.replay(r.ix)
}

// cursor reads one segment's hint for the merge.
type cursor struct {
	r     *segment.HintReader
	e     *segment.HintEntry // the current entry; nil after the last
	seg   uint32
	order int // of the segment among those kept
}

func (c *cursor) next() error {
	e, ok, err := c.r.Next()
	if err != nil {
		return fmt.Errorf("recovery: the hint of segment %s: %w", segment.FileName(c.seg), err)
	}
	c.e = nil
	if ok {
		c.e = e
	}
	return nil
}

// cursors is a min-heap of cursors by (run, key, segment order).
type cursors []*cursor

func (h cursors) less(i, j int) bool {
	a, b := h[i].e, h[j].e
	if c := bytes.Compare(a.Run, b.Run); c != 0 {
		return c < 0
	}
	if c := bytes.Compare(a.Key, b.Key); c != 0 {
		return c < 0
	}
	return h[i].order < h[j].order
}

func (h cursors) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// truncate cuts path to size (if cut) and fsyncs it.
func truncate(fs vfs.FS, path string, size int64, cut bool) error {
	f, err := fs.OpenRW(path)
	if err != nil {
		return fmt.Errorf("recovery: open %s: %w", path, err)
	}
	if cut {
		if err := f.Truncate(size); err != nil {
			f.Close()
			return fmt.Errorf("recovery: cut the torn tail of %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("recovery: sync %s: %w", path, err)
	}
	return f.Close()
}
