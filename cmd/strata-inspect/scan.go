package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/recovery"
	"github.com/strata-kv/strata/segment"
)

// segFile is one segment file of a directory as recovery.Verify found
// it.
type segFile = recovery.Segment

func totalSize(segs []*segFile) int64 {
	var n int64
	for _, s := range segs {
		n += s.Size
	}
	return n
}

// problem is a recovery.Problem as the commands print it, or damage to a
// value (kind "bad value"), which Open does not look at.
type problem struct {
	Kind    string `json:"kind"`
	Path    string `json:"file"`
	Offset  int64  `json:"offset"`
	Message string `json:"problem"`
	// Torn marks an incomplete write at the end of the newest segment:
	// not corruption (Open cuts it), but reported.
	Torn bool `json:"torn,omitempty"`
	// Bytes is the size of the damaged region: for a torn tail, what
	// Open cuts but the unused zeros after it; else up to the next frame
	// that verifies, or to the end of the file.
	Bytes int64 `json:"bytes"`
	// Intact is the newest version every earlier one is intact up to.
	Intact uint64 `json:"intact_version"`
}

func fromProblem(p *recovery.Problem) problem {
	return problem{Kind: p.Kind.String(), Path: p.File, Offset: p.Offset, Message: p.Error(), Torn: p.Kind == recovery.TornTail,
		Bytes: p.Bytes, Intact: p.Intact}
}

func (p problem) String() string {
	kind := "CORRUPT"
	if p.Torn {
		kind = "WARNING torn tail"
	}
	return fmt.Sprintf("%s: %s at offset %d: %s", kind, p.Path, p.Offset, p.Message)
}

// region reads the bytes of p's damaged region, up to max of them, and
// says how many it holds in all.
func (p problem) region(max int64) ([]byte, int64, error) {
	f, err := os.Open(p.Path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	b := make([]byte, min(p.Bytes, max))
	n, err := f.ReadAt(b, p.Offset)
	if err == io.EOF {
		err = nil
	}
	return b[:n], p.Bytes, err
}

// decodeEntry returns an entry's value (Null for tombstones; for a run
// event, a description of it) and its decoded length.
func decodeEntry(e segment.Entry) (kv.Value, int, error) {
	if string(e.Run) == segment.EventRun {
		v, err := describeEvent(e.Key)
		return v, 0, err
	}
	if e.Op == segment.OpDelete {
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

func opName(op uint8) string {
	if op == segment.OpDelete {
		return "del"
	}
	return "put"
}

// scanAll checks the data directory (or segment file) at path with
// recovery.Verify, the rules Open applies, calling onFrame for every
// frame that verifies. It returns the segments, the problems found and
// whether any is corruption (a torn tail is not). Notes (a compaction's
// leftover, a stray hint file) go to stderr; a file it cannot read is
// reported there and counted in e.unreadable. With progress, a bar is
// drawn on a terminal.
func (e *env) scanAll(path string, progress bool, onFrame func(sf *segFile, off int64, f *segment.Frame) error) (segs []*segFile, problems []problem, corrupt bool, err error) {
	opts := recovery.VerifyOptions{Hints: e.checkHints}
	if onFrame != nil {
		opts.OnFrame = func(sf *segFile, f *segment.Frame) error { return onFrame(sf, f.Offset, f) }
	}
	if progress && !e.json {
		var bar func(int64)
		opts.Progress = func(done, total int64) {
			if bar == nil {
				bar = cli.Progress(e.stderr, total, "reading segments")
			}
			bar(done)
		}
	}
	// An error from onFrame comes with the report of what was read
	// before it, whose problems are returned with it.
	rep, err := recovery.Verify(vfs.Default, path, opts)
	if rep == nil {
		return nil, nil, false, err
	}
	for _, p := range rep.Problems {
		switch p.Kind {
		case recovery.Leftover, recovery.OrphanHint:
			fmt.Fprintf(e.stderr, "strata-inspect: %s is %v. Left out of what follows.\n", p.File, p.Err)
		case recovery.Unreadable:
			e.unreadable++
			msg := p.Err.Error()
			if errors.Is(p.Err, fs.ErrPermission) {
				msg = "permission denied; Strata creates its files 0600 (owner only): run as the owner of the data directory"
			}
			fmt.Fprintf(e.stderr, "strata-inspect: cannot read %s: %s. Left out of what follows.\n", p.File, msg)
		default:
			problems = append(problems, fromProblem(p))
		}
	}
	return rep.Segments, problems, rep.Corrupt(), err
}
