package recovery

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// VerifyOptions control Verify.
type VerifyOptions struct {
	// Hints also checks each hint file that Open would use: it is rebuilt
	// from its segment and compared byte for byte (WrongHint when they
	// differ). It reads every entry of every segment.
	Hints bool
	// OnFrame, if set, is called for each frame that verifies (sync
	// markers too), in log order, with the segment it is in, whose
	// mapping is valid while the call runs. An error from it stops
	// Verify, which returns it.
	OnFrame func(seg *Segment, f *segment.Frame) error
	// Progress, if set, is called as the segments are read, with the
	// bytes read so far and the bytes of all the segments to read.
	Progress func(done, total int64)
}

// Segment is what Verify found of one segment file.
type Segment struct {
	ID   uint32
	Path string
	Size int64
	// Header is the segment's header (zero if it could not be read).
	Header segment.Header
	// Listed is what the manifest says of the segment (nil: not listed).
	Listed *segment.SegmentInfo
	// Newest marks the newest segment of the log: the one whose end may
	// be torn.
	Newest bool
	// Frames and Entries count the commits read and their entries (sync
	// markers are not counted); First and Last are the versions of the
	// first and last commit read (0: none).
	Frames, Entries int
	First, Last     uint64
	// Unused counts the zeros that end the newest segment after its
	// frames (and any torn bytes): space a writer reserved ahead.
	Unused int64
	// Hint, with VerifyOptions.Hints, says whether the segment's hint
	// file is the one Open would build from it: "ok"; "none" (Open builds
	// it; the newest segment of a database that did not close has none);
	// "unusable: why" (Open rebuilds it); "wrong" (a WrongHint problem);
	// "" when it was not checked (the segment is damaged).
	Hint string
	// Sealed is the segment's mapping while OnFrame runs; nil after.
	Sealed *segment.Sealed
}

// Report is what Verify found.
type Report struct {
	// Segments are the segment files in the order recovery reads them
	// (leftovers of a compaction are not among them: see Problems).
	Segments []*Segment
	// Problems are in the order found: the manifest's first (and those of
	// the segments it names that are missing), then stray files, then each
	// segment's.
	Problems []*Problem
	// Manifest is the directory's manifest (nil: none, or it does not
	// decode).
	Manifest *segment.Manifest
	// LastVersion is the version of the newest commit read; Frames and
	// Entries sum those of Segments.
	LastVersion     uint64
	Frames, Entries int
}

// Corrupt reports whether any problem found is corruption.
func (r *Report) Corrupt() bool {
	return slices.ContainsFunc(r.Problems, func(p *Problem) bool { return p.Kind.Corrupt() })
}

// Verify checks a data directory as Open does, by the same rules, without
// changing anything and without stopping at the first problem: the
// manifest, every segment's header, every frame's checksum and the order
// of versions within and across segments, and (with opts.Hints) the hint
// files. path is the directory or one segment file in it (then only that
// file is read, and the version it starts at is not checked), or a
// segment file a salvage moved aside ("<name>.damaged-<unix>", read the
// same way, without its hint file). It takes
// no lock, so it can check a directory a DB has open (it sees the newest
// segment as far as it was written).
//
// Problems found are in the report; the error is for what kept Verify
// from checking (a directory it cannot list, an I/O error), or OnFrame's.
// A frame after a bad one cannot be decoded in order (its run names and
// timestamp depend on the frames before), so the check of a segment
// stops at its first bad frame; the problem says what verifies after it.
//
// Beside a writer, the directory may change while Verify reads it: a
// roll between its listing and its reading of the manifest is read as
// one state (see listWithManifest); a compaction that removes a segment
// before it is read makes Verify start again, a few times at most,
// unless OnFrame has already been called (then its error says to try
// again).
func Verify(fs vfs.FS, path string, opts VerifyOptions) (*Report, error) {
	var done, total int64 // the most Progress has said: it never goes back (review 65)
	for try := 1; ; try++ {
		framed := false
		o := opts
		if opts.OnFrame != nil {
			o.OnFrame = func(seg *Segment, f *segment.Frame) error { framed = true; return opts.OnFrame(seg, f) }
		}
		if opts.Progress != nil {
			o.Progress = func(d, t int64) {
				total = max(total, t)
				done = min(max(done, d), total)
				opts.Progress(done, total)
			}
		}
		rep, changed, err := verifyOnce(fs, path, o)
		switch {
		case !changed:
			return rep, err
		case !framed && try < maxVerifyTries:
			continue
		case err != nil:
			return rep, fmt.Errorf("%w (the directory changed while it was read: a writer compacting beside it; try again)", err)
		}
		return rep, nil
	}
}

// maxVerifyTries bounds how often Verify starts again (see Verify).
const maxVerifyTries = 8

// verifyOnce is Verify's one pass. changed reports a pass that met an
// error or problems while the directory's manifest changed under it
// (review 63: a compaction beside it removed a segment it had listed).
func verifyOnce(fs vfs.FS, path string, opts VerifyOptions) (rep *Report, changed bool, err error) {
	dir, one, aside := path, uint32(0), ""
	if id, ok := segment.ParseFileName(filepath.Base(path)); ok {
		dir, one = filepath.Dir(path), id
	}
	names, m, raw, err := listWithManifest(fs, dir)
	var le *listError
	if errors.As(err, &le) && one == 0 {
		if id, ok, lerr := loneSegment(fs, path); lerr != nil {
			return nil, false, errors.Join(err, lerr)
		} else if ok {
			// A segment file under another name (a copy kept for
			// forensics, one a salvage moved aside: the damage is there)
			// is read alone, without a hint file (which would be another
			// segment's) (reviews 59, 61).
			dir, one, aside = filepath.Dir(path), id, path
			opts.Hints = false
			names, m, raw, err = listWithManifest(fs, dir)
		}
	}
	if err != nil && !errors.Is(err, segment.ErrBadManifest) {
		return nil, false, err
	}
	defer func() {
		if aside == "" && (err != nil || rep != nil && len(rep.Problems) > 0) {
			now, _ := vfs.ReadFile(fs, filepath.Join(dir, segment.ManifestName))
			changed = !bytes.Equal(now, raw)
		}
	}()
	rep = &Report{}
	var ids []uint32
	var hints []uint32
	for _, n := range names {
		if id, ok := segment.ParseFileName(n); ok {
			ids = append(ids, id)
		} else if id, ok := segment.ParseHintName(n); ok {
			hints = append(hints, id)
		}
	}
	slices.Sort(ids)
	switch {
	case errors.Is(err, segment.ErrBadManifest):
		rep.Problems = append(rep.Problems, &Problem{Kind: BadManifest, File: filepath.Join(dir, segment.ManifestName), Proof: -1, Err: err})
		m = nil
	case err != nil:
		return nil, false, err
	}
	if one == 0 && len(ids) == 0 && len(rep.Problems) == 0 && (m == nil || len(m.Segments) == 0 && m.Active == 0) {
		// Nothing to check (Open would start a new database here): most
		// likely the wrong directory.
		return nil, false, fmt.Errorf("%s holds no segment files (*%s)", path, segment.Ext)
	}
	rep.Manifest = m
	steps, leftovers, problems, err := plan(fs, dir, ids, m)
	if err != nil {
		return nil, false, err
	}
	// A listed segment that is missing is reported among problems.
	steps = slices.DeleteFunc(steps, func(st step) bool { return st.missing != nil })
	newest := uint32(0) // the newest segment of the log, whose end may be torn
	if n := len(steps); n > 0 && steps[n-1].listed == nil {
		newest = steps[n-1].id
	}
	if aside != "" {
		steps = []step{{id: one}}
	} else if one != 0 {
		if _, ok := slices.BinarySearch(ids, one); !ok {
			return nil, false, fmt.Errorf("%s: %w", path, iofs.ErrNotExist)
		}
		steps = oneStep(steps, one)
	} else {
		rep.Problems = append(rep.Problems, problems...)
		for _, id := range hints {
			if _, ok := slices.BinarySearch(ids, id); !ok {
				rep.Problems = append(rep.Problems, &Problem{Kind: OrphanHint, File: filepath.Join(dir, segment.HintName(id)), Proof: -1,
					Err: errors.New("the hint of a segment that is gone (a writable Open removes it)")})
			}
		}
		for _, id := range leftovers {
			rep.Problems = append(rep.Problems, &Problem{Kind: Leftover, File: filepath.Join(dir, segment.FileName(id)), Proof: -1,
				Err: errors.New("left over from a compaction: the manifest does not list it (a writable Open removes it)")})
		}
	}
	v := &verifier{fs: fs, dir: dir, aside: aside, opts: opts, rep: rep}
	for _, st := range steps {
		v.total += fileSize(fs, v.path(st.id))
	}
	next := uint64(1) // the version the next segment starts at; 0: unknown
	if one != 0 {
		next = 0
	}
	for _, st := range steps {
		if next, err = v.segment(st, st.id == newest, next); err != nil {
			return rep, false, err
		}
	}
	if v.opts.Progress != nil {
		v.opts.Progress(v.total, v.total)
	}
	return rep, false, nil
}

// listError is listWithManifest's error when the listing itself failed.
type listError struct{ err error }

func (e *listError) Error() string { return e.err.Error() }
func (e *listError) Unwrap() error { return e.err }

// loneSegment reports whether path, which cannot be listed as a
// directory, is a file, and returns the segment id its name
// ("NAME.damaged-..." where salvage moved NAME aside) or its header
// gives. A file that is not a segment file is an error that says so.
func loneSegment(fs vfs.FS, path string) (uint32, bool, error) {
	f, err := fs.Open(path)
	if err != nil {
		return 0, false, nil // (List says why)
	}
	f.Close()
	if name, _, ok := strings.Cut(filepath.Base(path), asideMark); ok {
		if id, ok := segment.ParseFileName(name); ok {
			return id, true, nil // its header may be the damage
		}
	}
	s, err := segment.OpenSealed(fs, path)
	if err != nil {
		return 0, false, fmt.Errorf("%s is neither a directory nor a segment file: %w", path, err)
	}
	defer s.Close()
	return s.ID(), true, nil
}

// listWithManifest lists dir and reads its manifest as one state: a
// writer beside Verify may roll to a new segment, writing a manifest
// that names a file the listing missed, which would read as a missing
// segment (review 61: 20 of 40 verify runs beside a busy writer). The
// manifest is read before and after the listing, and all of it again
// until the two agree (a few times at most: then it goes on with what it
// has); raw is the manifest's bytes (nil: none). A damaged manifest is
// returned with its error (segment.ErrBadManifest); a failed listing as
// a *listError.
func listWithManifest(fs vfs.FS, dir string) (names []string, m *segment.Manifest, raw []byte, err error) {
	path := filepath.Join(dir, segment.ManifestName)
	for try := 0; ; try++ {
		before, _ := vfs.ReadFile(fs, path) // (errors: the read after says)
		if names, err = fs.List(dir); err != nil {
			return nil, nil, nil, &listError{err}
		}
		raw, err = vfs.ReadFile(fs, path)
		switch {
		case errors.Is(err, iofs.ErrNotExist):
			raw, err = nil, nil // no manifest: a log
		case err != nil:
			return nil, nil, nil, fmt.Errorf("read manifest %s: %w", path, err)
		}
		if !bytes.Equal(before, raw) && try < 8 {
			continue
		}
		if raw != nil {
			if m, err = segment.DecodeManifest(raw); err != nil {
				err = fmt.Errorf("manifest %s: %w", path, err)
			}
		}
		return names, m, raw, err
	}
}

// oneStep returns the step that reads segment id alone.
// (A leftover of a compaction is read as a segment the manifest does not
// list.)
func oneStep(steps []step, id uint32) []step {
	for _, st := range steps {
		if st.id == id {
			return []step{st}
		}
	}
	return []step{{id: id}}
}

// fileSize returns the size of the file at path (0 if it cannot be
// opened).
func fileSize(fs vfs.FS, path string) int64 {
	f, err := fs.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n, _ := f.Size()
	return n
}

type verifier struct {
	fs    vfs.FS
	dir   string
	aside string // the file to read, a segment moved aside, if not ""
	opts  VerifyOptions
	rep   *Report
	done  int64 // bytes of the segments read before this one
	total int64
}

func (v *verifier) problem(p *Problem) { v.rep.Problems = append(v.rep.Problems, p) }

// path returns the path of segment id's file.
func (v *verifier) path(id uint32) string {
	if v.aside != "" {
		return v.aside
	}
	return filepath.Join(v.dir, segment.FileName(id))
}

// segment checks the segment of st, which should start at version next
// (0: unknown), and returns the version the one after it should start at
// (0: unknown, after damage).
func (v *verifier) segment(st step, newest bool, next uint64) (uint64, error) {
	path := v.path(st.id)
	seg := &Segment{ID: st.id, Path: path, Listed: st.listed, Newest: newest}
	v.rep.Segments = append(v.rep.Segments, seg)
	seg.Size = fileSize(v.fs, path)
	defer func() { v.done += seg.Size }()
	s, err := segment.OpenSealed(v.fs, path)
	switch {
	case errors.Is(err, iofs.ErrPermission) || errors.Is(err, segment.ErrOldFormat):
		v.problem(&Problem{Kind: Unreadable, File: path, Intact: next - min(next, 1), Proof: -1, Err: err})
		return 0, nil
	case errors.Is(err, segment.ErrBadHeader):
		// The whole file is the damaged region: nothing in it can be read.
		v.problem(&Problem{Kind: BadHeader, File: path, Intact: next - min(next, 1), Proof: -1, Bytes: seg.Size, Err: err})
		return 0, nil
	case err != nil:
		return 0, err
	}
	defer s.Close()
	seg.Sealed, seg.Header, seg.Size = s, s.Header(), int64(len(s.Bytes()))
	defer func() { seg.Sealed = nil }()
	h := seg.Header
	if next == 0 {
		next = h.BaseVersion
	}
	last := next - 1
	before := len(v.rep.Problems)
	if p := startRule(path, h, next); p != nil {
		v.problem(p)
		last = h.BaseVersion - 1
	}
	if p := listedRule(path, h, seg.Size, st.listed, last); p != nil {
		v.problem(p)
	}
	sc := s.Scanner()
	var bad *Problem
	err = segment.GuardFault(path, 0, func() error {
		for {
			if v.opts.Progress != nil {
				v.opts.Progress(v.done+sc.Offset(), v.total)
			}
			f, err := sc.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				bad = frameRule(path, sc, s.Bytes(), err, newest, last)
				return nil
			}
			if !f.Marker() {
				if seg.Frames == 0 {
					seg.First = f.Version
				}
				seg.Frames++
				seg.Entries += f.Count
				seg.Last, last = f.Version, f.Version
			}
			if v.opts.OnFrame != nil {
				if err := v.opts.OnFrame(seg, &f); err != nil {
					return err
				}
			}
		}
	})
	v.rep.Frames += seg.Frames
	v.rep.Entries += seg.Entries
	v.rep.LastVersion = max(v.rep.LastVersion, last)
	if err != nil {
		var ce *segment.CorruptError
		if !errors.As(err, &ce) { // not a fault of the mapping: OnFrame's
			return 0, err
		}
		v.problem(&Problem{Kind: BadFrame, File: ce.File, Offset: ce.Offset, Intact: last, Proof: -1, Err: ce.Err})
		return 0, nil
	}
	if bad != nil {
		if bad.Kind == TornTail {
			seg.Unused = bad.Unused
		}
		if bad.Kind != TornTail || bad.Bytes > 0 {
			v.problem(bad)
		}
		if bad.Kind != TornTail {
			return after(h, st.listed, bad.After), nil
		}
	}
	bound, p := endRule(path, h, st.listed, last, sc.Offset())
	if p != nil {
		v.problem(p)
		return 0, nil
	}
	if v.opts.Hints && len(v.rep.Problems) == before {
		v.checkHint(seg, st, newest, bound)
	}
	return bound + 1, nil
}

// checkHint sets seg.Hint (see there), with a WrongHint problem for a
// hint Open would use that lists other entries than the segment holds.
func (v *verifier) checkHint(seg *Segment, st step, newest bool, bound uint64) {
	hint, err := segment.ReadHint(v.fs, v.dir, seg.ID)
	if errors.Is(err, iofs.ErrNotExist) {
		seg.Hint = "none"
		return
	}
	if err == nil {
		_, err = hintRule(hint, seg.Sealed, st, newest)
	}
	if err != nil {
		seg.Hint = "unusable: " + err.Error()
		return
	}
	var listed uint64
	if st.listed != nil {
		listed = bound
	}
	want, err := segment.BuildHint(seg.Sealed, listed)
	if err != nil {
		seg.Hint = "unusable: " + err.Error()
		return
	}
	if bytes.Equal(hint, want) {
		seg.Hint = "ok"
		return
	}
	seg.Hint = "wrong"
	v.problem(&Problem{Kind: WrongHint, File: filepath.Join(v.dir, segment.HintName(seg.ID)), Intact: seg.Header.BaseVersion - 1, Proof: -1,
		Err: fmt.Errorf("%w: it matches %s (salt, size, versions) but lists other entries than the segment holds: Open would index them",
			segment.ErrBadHint, filepath.Base(seg.Path))})
}

// after returns the version that should follow a segment of header h
// (listed: what the manifest says of it) whose frames could not all be
// read: the end of its range if it has one, else the version after the
// last frame that verifies beyond the damage (sv); 0 if unknown.
func after(h segment.Header, listed *segment.SegmentInfo, sv segment.Survey) uint64 {
	switch {
	case listed != nil:
		return listed.Last + 1
	case h.Compacted():
		return h.Last + 1
	case sv.Frames > 0:
		return sv.Last + 1
	}
	return 0
}
