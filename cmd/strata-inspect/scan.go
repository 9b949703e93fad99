package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

// segFile is one segment file of a directory, mapped read-only.
type segFile struct {
	ID     uint32
	Path   string
	Size   int64
	Newest bool
	s      *segment.Sealed
	err    error // the file could not be opened or its header is bad
	// Unused counts the zeros that end the newest segment after its
	// frames (and any torn bytes): space a writer reserved ahead.
	Unused int64
	// unreadable: permission denied; reported once, then skipped.
	unreadable bool
	// listed is what the manifest says of the segment (nil: not listed).
	listed *segment.SegmentInfo
	// Hint says whether the segment's hint file matches it (see
	// checkHint); set when env.checkHints is.
	Hint string
}

// openSegments maps the segment files of dir (or the single file dir
// names), in id order. The caller closes them with closeSegments. A file
// it may not read is reported on stderr and counted in e.unreadable (the
// command then exits with status 2 unless it found corruption); the
// others are still read.
func (e *env) openSegments(path string) ([]*segFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	dir := path
	if !st.IsDir() {
		dir = filepath.Dir(path)
	}
	names, err := vfs.Default.List(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, n := range names {
		if _, ok := segment.ParseFileName(n); ok {
			paths = append(paths, filepath.Join(dir, n))
		}
	}
	slices.Sort(paths)
	var listed map[string]*segment.SegmentInfo
	if st.IsDir() {
		if paths, listed, err = e.manifestOrder(dir, paths); err != nil {
			return nil, err
		}
	}
	newest := ""
	if len(paths) > 0 {
		newest = paths[len(paths)-1]
	}
	if !st.IsDir() {
		// One file: it is the newest segment if no later one is beside it.
		if newest == "" || filepath.Base(path) > filepath.Base(newest) {
			newest = path
		}
		paths = []string{path}
	} else if len(paths) == 0 {
		return nil, fmt.Errorf("%s holds no segment files (*%s)", path, segment.Ext)
	}
	var segs []*segFile
	for _, p := range paths {
		sf := &segFile{Path: p, Newest: p == newest || filepath.Clean(p) == filepath.Clean(newest), listed: listed[p]}
		sf.ID, _ = segment.ParseFileName(filepath.Base(p))
		if st, err := os.Stat(p); err == nil {
			sf.Size = st.Size()
		}
		sf.s, sf.err = segment.OpenSealed(vfs.Default, p)
		if sf.s != nil {
			sf.Size = int64(len(sf.s.Bytes()))
		}
		if errors.Is(sf.err, fs.ErrPermission) {
			sf.unreadable = true
			e.unreadable++
			fmt.Fprintf(e.stderr, "strata-inspect: cannot read %s: permission denied; Strata creates its files 0600 (owner only): run as the owner of the data directory. Left out of what follows.\n", p)
		}
		segs = append(segs, sf)
	}
	return segs, nil
}

// manifestOrder orders the segment files in paths (sorted by id) as
// recovery reads them: those dir's manifest lists, in its order, then the
// others; a compacted segment the manifest does not list is left over
// from a compaction (Open removes it) and is left out, with a note. It
// returns what the manifest says of each listed path; a listed file
// missing, or a manifest that does not decode, is corruption (Open fails
// on it), kept in e.manifestProblems. Hint files of no segment are noted.
func (e *env) manifestOrder(dir string, paths []string) ([]string, map[string]*segment.SegmentInfo, error) {
	names, err := vfs.Default.List(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range names {
		if id, ok := segment.ParseHintName(n); ok && !slices.Contains(paths, filepath.Join(dir, segment.FileName(id))) {
			fmt.Fprintf(e.stderr, "strata-inspect: %s is the hint of a segment that is gone (Open removes it).\n", filepath.Join(dir, n))
		}
	}
	m, err := segment.ReadManifest(vfs.Default, dir)
	if errors.Is(err, segment.ErrBadManifest) {
		e.manifestProblems = append(e.manifestProblems, problem{Path: filepath.Join(dir, segment.ManifestName), Message: err.Error()})
		return paths, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if m == nil {
		return paths, nil, nil
	}
	listed := map[string]*segment.SegmentInfo{}
	var out []string
	for i, info := range m.Segments {
		p := filepath.Join(dir, segment.FileName(info.ID))
		if !slices.Contains(paths, p) {
			e.manifestProblems = append(e.manifestProblems, problem{Path: p, Message: fmt.Sprintf(
				"the manifest lists this segment (versions %d to %d) but the file is missing", info.Base, info.Last)})
			continue
		}
		listed[p] = &m.Segments[i]
		out = append(out, p)
	}
	for _, p := range paths {
		if listed[p] != nil {
			continue
		}
		if s, err := segment.OpenSealed(vfs.Default, p); err == nil {
			compacted := s.Header().Compacted()
			s.Close()
			if compacted {
				fmt.Fprintf(e.stderr, "strata-inspect: %s is left over from a compaction (the manifest does not list it; Open removes it). Left out of what follows.\n", p)
				continue
			}
		}
		out = append(out, p)
	}
	return out, listed, nil
}

// checkHint says whether the hint file of sf (scanned without damage)
// is the one Open would build from it: "ok"; "none" (Open builds it; the
// newest segment of a database that did not close has none);
// "unusable: why" (Open rebuilds it); or, for a hint Open would take as
// it is but that lists other entries, "WRONG", with a problem.
func checkHint(sf *segFile) (string, *problem) {
	dir, id := filepath.Dir(sf.Path), sf.ID
	hint, err := segment.ReadHint(vfs.Default, dir, id)
	if errors.Is(err, fs.ErrNotExist) {
		return "none", nil
	}
	if err != nil {
		return "unreadable: " + err.Error(), nil
	}
	hr, err := segment.NewHintReader(hint)
	if err != nil {
		return "unusable: " + err.Error(), nil
	}
	if hd := hr.Header(); !hd.Matches(sf.s) {
		return "unusable: it describes another segment, or this one at another size", nil
	}
	var last uint64
	if sf.listed != nil {
		last = sf.listed.Last
	}
	want, err := segment.BuildHint(sf.s, last)
	if err != nil {
		return "unchecked: " + err.Error(), nil
	}
	if !bytes.Equal(hint, want) {
		path := filepath.Join(dir, segment.HintName(id))
		return "WRONG", &problem{Path: path, Message: fmt.Sprintf(
			"the hint file matches %s (salt, size, versions) but lists other entries than the segment holds: Open would index them", filepath.Base(sf.Path))}
	}
	return "ok", nil
}

func closeSegments(segs []*segFile) {
	for _, s := range segs {
		if s.s != nil {
			s.s.Close()
		}
	}
}

func totalSize(segs []*segFile) int64 {
	var n int64
	for _, s := range segs {
		n += s.Size
	}
	return n
}

// problem is damage found in a segment.
type problem struct {
	Path    string `json:"file"`
	Offset  int64  `json:"offset"`
	Message string `json:"problem"`
	// Torn marks an incomplete write at the end of the newest segment:
	// not corruption (Open cuts it), but reported.
	Torn bool `json:"torn,omitempty"`
	// Bytes is the size of the damaged region: for a torn tail, all that
	// Open cuts (to the end of the file); else up to the next frame that
	// verifies, or to the end of the file.
	Bytes int64 `json:"bytes"`
	// data holds the region's bytes while the segment is mapped (for
	// dump -hex).
	data []byte
}

func (p problem) String() string {
	kind := "CORRUPT"
	if p.Torn {
		kind = "WARNING torn tail"
	}
	return fmt.Sprintf("%s: %s at offset %d: %s", kind, p.Path, p.Offset, p.Message)
}

// scan walks the frames of one segment with the engine's own scanner,
// calling onFrame for each valid one in order, and returns the problems
// found, classified as recovery classifies them: a bad frame of the newest
// segment that no later frame shows was fsynced is a torn tail; any other
// is corruption. Frames after damage cannot be decoded in order (their
// runs and timestamps depend on the frames before), so the scan of a
// segment stops at its first damage and reports what verifies after it.
// done is called with the bytes covered so far.
func scan(sf *segFile, onFrame func(off int64, f *segment.Frame) error, done func(int64)) ([]problem, error) {
	if sf.unreadable {
		return nil, nil
	}
	if sf.err != nil {
		if errors.Is(sf.err, segment.ErrBadHeader) {
			return []problem{{Path: sf.Path, Offset: 0, Bytes: sf.Size, Message: sf.err.Error()}}, nil
		}
		return nil, sf.err
	}
	data := sf.s.Bytes()
	sc := sf.s.Scanner()
	var problems []problem
	err := segment.GuardFault(sf.Path, 0, func() error {
		for {
			if done != nil {
				done(sc.Offset())
			}
			f, err := sc.Next()
			if err == io.EOF {
				return nil
			}
			if err == nil {
				if err := onFrame(f.Offset, &f); err != nil {
					return err
				}
				continue
			}
			p := damage(sf, sc, data, err)
			if p.Torn {
				// Zeros at the end are space the writer reserved, not
				// a torn write: a problem only if bytes precede them.
				end := segment.DataEnd(data, p.Offset)
				sf.Unused = int64(len(data)) - end
				if p.Bytes -= sf.Unused; p.Bytes == 0 {
					return nil
				}
				p.data = data[p.Offset:end]
				p.Message = tornMessage(err, p.Bytes, sf.Unused, sc.Survey())
			}
			problems = append(problems, p)
			return nil
		}
	})
	if done != nil {
		done(int64(len(data)))
	}
	return problems, err
}

// damage describes the bad frame where sc stopped with err, judged as
// recovery judges it (Scanner.Verdict).
func damage(sf *segFile, sc *segment.Scanner, data []byte, err error) problem {
	bad := sc.Offset()
	torn, proof := sc.Verdict(err, sf.Newest)
	sv := sc.Survey()
	p := problem{Path: sf.Path, Offset: bad, Bytes: int64(len(data)) - bad}
	region := p.Bytes
	if sv.NextVerified >= 0 {
		region = sv.NextVerified - bad
	}
	p.data = data[bad : bad+region]
	after := surveyNote(sv)
	switch {
	case torn:
		p.Torn = true
		p.Message = tornMessage(err, p.Bytes, 0, sv)
	case sf.Newest && proof >= 0:
		p.Bytes = region
		p.Message = fmt.Sprintf("%v; the frame at offset %d claims these bytes had been fsynced%s", err, proof, after)
	case sf.Newest && !errors.Is(err, segment.ErrSequence):
		p.Bytes = region
		p.Message = fmt.Sprintf("%v; many frame heads after it claim these bytes had been fsynced%s", err, after)
	default:
		p.Bytes = region
		p.Message = fmt.Sprintf("%v%s", err, after)
	}
	return p
}

// surveyNote says what the survey found after a bad frame ("" if
// nothing).
func surveyNote(sv segment.Survey) string {
	switch {
	case sv.Frames > 0:
		return fmt.Sprintf("; %d intact frames follow (versions %d-%d, from offset %d) but cannot be read in order",
			sv.Frames, sv.First, sv.Last, sv.NextVerified)
	case sv.Incomplete:
		return "; the bytes after it hold many frame heads whose frames do not verify (the survey of them stopped early)"
	}
	return ""
}

// tornMessage describes a torn tail of n bytes followed by unused zeros.
func tornMessage(err error, n, unused int64, sv segment.Survey) string {
	after := surveyNote(sv)
	zeros := ""
	if unused > 0 {
		zeros = fmt.Sprintf(", then %d bytes of unused space", unused)
	}
	return fmt.Sprintf("%v; %d bytes of an incomplete last write that was never synced%s (a writable Open cuts them)%s", err, n, zeros, after)
}

// decodeEntry returns an entry's value (Null for tombstones) and its
// decoded length.
func decodeEntry(e segment.Entry) (kv.Value, int, error) {
	if e.Kind == segment.KindTombstone {
		return kv.Null(), 0, nil
	}
	raw, err := segment.DecodeValue(e.Codec, e.Value)
	if err != nil {
		return kv.Value{}, 0, err
	}
	var v kv.Value
	if err := v.UnmarshalBinary(raw); err != nil {
		return kv.Value{}, len(raw), err
	}
	return v, len(raw), nil
}

func formatTS(us int64) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z")
}

func codecName(c uint8) string {
	switch c {
	case segment.CodecRaw:
		return "raw"
	case segment.CodecS2:
		return "s2"
	}
	return fmt.Sprintf("codec%d", c)
}

func kindName(k uint8) string {
	if k == segment.KindTombstone {
		return "del"
	}
	return "put"
}

// scanAll opens the segments at path and scans them in order, calling
// onFrame for every valid frame. It returns the problems found and whether
// any of them is corruption (a torn tail is not). With progress, a bar is
// drawn on a terminal. The segments are closed when it returns.
func (e *env) scanAll(path string, progress bool, onFrame func(sf *segFile, off int64, f *segment.Frame) error) (segs []*segFile, problems []problem, corrupt bool, err error) {
	segs, err = e.openSegments(path)
	if err != nil {
		return nil, nil, false, err
	}
	defer closeSegments(segs)
	bar := func(int64, int64) {}
	if progress {
		bar = e.progressFor(totalSize(segs))
	}
	problems = append(problems, e.manifestProblems...)
	corrupt = len(e.manifestProblems) > 0
	var base int64
	var last uint64
	gap := false // the previous segment could not be read
	for _, sf := range segs {
		if sf.unreadable {
			gap = true // what follows cannot be checked against it
		} else if sf.s != nil && gap {
			gap = false
		} else if sf.s != nil {
			if h := sf.s.Header(); h.BaseVersion != last+1 {
				problems = append(problems, problem{Path: sf.Path, Offset: 0, Message: fmt.Sprintf(
					"the segment starts at version %d but version %d comes next: commits or a segment are missing", h.BaseVersion, last+1)})
				corrupt = true
			}
		}
		ps, err := scan(sf, func(off int64, f *segment.Frame) error {
			if !f.Marker() {
				last = f.Version
			}
			return onFrame(sf, off, f)
		}, func(off int64) { bar(base, off) })
		if err != nil {
			return nil, nil, false, err
		}
		if sf.s != nil && sf.s.Header().Compacted() {
			// It covers its range whatever it kept: the manifest's, within
			// its header's bound.
			bound := sf.s.Header().Last
			if sf.listed != nil {
				bound = sf.listed.Last
			}
			if last > bound && len(ps) == 0 {
				ps = append(ps, problem{Path: sf.Path, Message: fmt.Sprintf(
					"a commit of version %d, beyond the %d the segment covers", last, bound)})
			}
			last = bound
		}
		if info := sf.listed; info != nil && sf.s != nil && len(ps) == 0 {
			switch {
			case sf.Size != info.Size:
				ps = append(ps, problem{Path: sf.Path, Message: fmt.Sprintf(
					"the file has %d bytes, the manifest says %d: it was cut or written after it was sealed", sf.Size, info.Size)})
			case last != info.Last:
				ps = append(ps, problem{Path: sf.Path, Message: fmt.Sprintf(
					"the segment ends at version %d, the manifest says %d", last, info.Last)})
			}
		}
		if e.checkHints && sf.s != nil && len(ps) == 0 {
			var p *problem
			if sf.Hint, p = checkHint(sf); p != nil {
				ps = append(ps, *p)
			}
		}
		base += sf.Size
		for _, p := range ps {
			corrupt = corrupt || !p.Torn
		}
		problems = append(problems, ps...)
	}
	return segs, problems, corrupt, nil
}
