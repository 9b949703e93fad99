package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
}

// openSegments maps the segment files of dir (or the single file dir
// names), in id order. The caller closes them with closeSegments.
func openSegments(path string) ([]*segFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var paths []string
	if st.IsDir() {
		names, err := vfs.Default.List(path)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if _, ok := segment.ParseFileName(n); ok {
				paths = append(paths, filepath.Join(path, n))
			}
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("%s holds no segment files (*%s)", path, segment.Ext)
		}
	} else {
		paths = []string{path}
	}
	slices.Sort(paths)
	var segs []*segFile
	for i, p := range paths {
		sf := &segFile{Path: p, Newest: i == len(paths)-1}
		sf.ID, _ = segment.ParseFileName(filepath.Base(p))
		if st, err := os.Stat(p); err == nil {
			sf.Size = st.Size()
		}
		sf.s, sf.err = segment.OpenSealed(vfs.Default, p)
		if sf.s != nil {
			sf.Size = int64(len(sf.s.Bytes()))
		}
		segs = append(segs, sf)
	}
	return segs, nil
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
	// not corruption (Open truncates it), but reported.
	Torn bool `json:"torn,omitempty"`
}

func (p problem) String() string {
	kind := "CORRUPT"
	if p.Torn {
		kind = "torn tail"
	}
	return fmt.Sprintf("%s: %s at offset %d: %s", kind, p.Path, p.Offset, p.Message)
}

// scan walks the frames of one segment, calling onFrame for each valid one
// (in order) and returning the problems found. After a bad frame it goes
// on at the next valid frame, so every damaged region is reported. done
// is called with the bytes covered so far.
func scan(sf *segFile, onFrame func(off int64, f *segment.Frame) error, done func(int64)) ([]problem, error) {
	if sf.err != nil {
		msg := sf.err.Error()
		if errors.Is(sf.err, segment.ErrBadHeader) {
			return []problem{{Path: sf.Path, Offset: 0, Message: strings.TrimPrefix(msg, "segment "+sf.Path+" offset 0: ")}}, nil
		}
		return nil, sf.err
	}
	data := sf.s.Bytes()
	var problems []problem
	err := segment.GuardFault(sf.Path, 0, func() error {
		off := segment.HeaderSize
		for off < len(data) {
			if done != nil {
				done(int64(off))
			}
			f, err := segment.DecodeFrame(data[off:])
			if err == nil {
				if err := onFrame(int64(off), &f); err != nil {
					return err
				}
				off += f.Size
				continue
			}
			if sf.Newest && segment.IsTornTail(data, int64(off)) {
				problems = append(problems, problem{Path: sf.Path, Offset: int64(off), Torn: true,
					Message: fmt.Sprintf("%v; %d bytes of an incomplete last write (Open truncates them)", err, len(data)-off)})
				return nil
			}
			next, ok := segment.FindValidFrame(data, off+1)
			if !ok {
				problems = append(problems, problem{Path: sf.Path, Offset: int64(off),
					Message: fmt.Sprintf("%v; no valid frame in the %d bytes after it", err, len(data)-off)})
				return nil
			}
			problems = append(problems, problem{Path: sf.Path, Offset: int64(off),
				Message: fmt.Sprintf("%v; %d bytes skipped to the next valid frame at %d", err, next-off, next)})
			off = next
		}
		return nil
	})
	if done != nil {
		done(int64(len(data)))
	}
	return problems, err
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
	segs, err = openSegments(path)
	if err != nil {
		return nil, nil, false, err
	}
	defer closeSegments(segs)
	bar := func(int64, int64) {}
	if progress {
		bar = e.progressFor(totalSize(segs))
	}
	var base int64
	for _, sf := range segs {
		ps, err := scan(sf, func(off int64, f *segment.Frame) error { return onFrame(sf, off, f) },
			func(off int64) { bar(base, off) })
		if err != nil {
			return nil, nil, false, err
		}
		base += sf.Size
		for _, p := range ps {
			corrupt = corrupt || !p.Torn
		}
		problems = append(problems, ps...)
	}
	return segs, problems, corrupt, nil
}
