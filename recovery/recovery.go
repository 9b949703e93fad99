// Package recovery rebuilds Strata's index from the segment files of a
// data directory when it is opened.
//
// Rules (see DESIGN.md): segments are read in id order and every frame is
// verified. Versions must run on without a gap from frame to frame, so a
// commit missing from the middle of the log is caught even when the frames
// around it are intact. A bad frame at the very end of the newest segment, with no
// valid frame after it, is a torn write: it is truncated (and logged) and
// recovery goes on. Any other bad frame, a bad segment header, or versions
// that skip or repeat are corruption: Recover fails with a
// *segment.CorruptError (errors.Is(err, kv.ErrCorrupt)) naming the file
// and offset. Nothing is ever skipped silently. Recovery is deterministic
// and idempotent: the same files give the same index, and a second run
// finds nothing to truncate.
package recovery

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// Options control a recovery.
type Options struct {
	// ReadOnly leaves the directory untouched: a torn tail is ignored
	// rather than truncated and temporary files are left alone. The newest
	// segment is then returned mapped, like the others.
	ReadOnly bool
	Logger   *slog.Logger // nil: discard
}

// Result describes what recovery found.
type Result struct {
	// Sealed holds the mapped segments other than the newest, in id order
	// (with ReadOnly, the newest too). The caller owns and closes them.
	Sealed []*segment.Sealed
	// Active is the id of the newest segment, to be appended to (0 when
	// the directory holds no segment, or with ReadOnly).
	Active uint32
	// ActiveSize is the valid size of the active segment after
	// truncation.
	ActiveSize int64
	// LastVersion and LastTimestamp are those of the newest frame.
	LastVersion   uint64
	LastTimestamp int64
	Frames        int
	Entries       int
	// TornBytes counts the bytes of a torn tail (truncated, or with
	// ReadOnly ignored).
	TornBytes int64
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
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	names, err := fs.List(dir)
	if err != nil {
		return nil, fmt.Errorf("recovery: list %s: %w", dir, err)
	}
	var ids []uint32
	for _, name := range names {
		if id, ok := segment.ParseFileName(name); ok {
			ids = append(ids, id)
		} else if strings.HasSuffix(name, segment.Ext+".tmp") && !opts.ReadOnly {
			// A segment creation that never reached its rename.
			if err := fs.Remove(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("recovery: remove %s: %w", name, err)
			}
			log.Info("removed unfinished segment file", "file", name)
		}
	}
	slices.Sort(ids)

	res := &Result{}
	r := &scanner{ix: ix, res: res, runs: map[string]string{}}
	for i, id := range ids {
		path := filepath.Join(dir, segment.FileName(id))
		newest := i == len(ids)-1
		s, err := segment.OpenSealed(fs, path)
		if err != nil {
			res.Close()
			if errors.Is(err, segment.ErrBadHeader) {
				return nil, &segment.CorruptError{Path: path, Offset: 0, Err: err}
			}
			return nil, fmt.Errorf("recovery: %w", err)
		}
		var end int64
		scanErr := segment.GuardFault(path, 0, func() (err error) {
			end, err = r.scan(s, newest)
			return err
		})
		if scanErr != nil {
			s.Close()
			res.Close()
			return nil, scanErr
		}
		size := int64(len(s.Bytes()))
		if !newest || opts.ReadOnly {
			res.Sealed = append(res.Sealed, s)
			if end < size {
				res.TornBytes = size - end
				log.Warn("ignoring torn write at the end of the newest segment (read-only open)",
					"file", path, "offset", end, "bytes", size-end)
			}
			continue
		}
		s.Close()
		res.Active, res.ActiveSize = id, end
		if end < size {
			res.TornBytes = size - end
			if err := truncate(fs, path, end); err != nil {
				res.Close()
				return nil, err
			}
			log.Warn("truncated torn write at the end of the newest segment",
				"file", path, "offset", end, "bytes", size-end)
		}
	}
	return res, nil
}

func truncate(fs vfs.FS, path string, size int64) error {
	f, err := fs.OpenRW(path)
	if err != nil {
		return fmt.Errorf("recovery: open %s to truncate: %w", path, err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("recovery: truncate %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("recovery: sync %s: %w", path, err)
	}
	return f.Close()
}

type scanner struct {
	ix   *index.Index
	res  *Result
	runs map[string]string // interned run names: one string per run, not per entry
}

func (r *scanner) run(b []byte) string {
	if s, ok := r.runs[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	r.runs[s] = s
	return s
}

// scan verifies the frames of s and indexes them. It returns the offset
// where valid frames end: the file size, or for the newest segment the
// start of a torn tail.
func (r *scanner) scan(s *segment.Sealed, newest bool) (int64, error) {
	data := s.Bytes()
	end, err := segment.ScanFrames(data, func(off int64, f *segment.Frame) error {
		// Every commit takes the next version, starting at 1, so a gap
		// means a commit is missing from the log. (Compaction, once it
		// exists, will mark the segments it writes so that the versions
		// it drops are not taken for missing commits.)
		if f.Version != r.res.LastVersion+1 {
			return fmt.Errorf("version %d does not follow version %d", f.Version, r.res.LastVersion)
		}
		err := f.Entries(func(e segment.Entry) error {
			rec := index.Record{
				Version:   f.Version,
				Timestamp: f.Timestamp,
				Segment:   s.ID(),
				Offset:    off + int64(e.ValueOffset),
				Len:       uint32(len(e.Value)),
				Flags:     e.Codec << index.FlagCodecShift,
			}
			if e.Kind == segment.KindTombstone {
				rec.Flags |= index.FlagTombstone
			}
			if !r.ix.AddBytes(r.run(e.Run), e.Key, rec) {
				return fmt.Errorf("key %q of run %q twice in version %d", e.Key, e.Run, f.Version)
			}
			r.res.Entries++
			return nil
		})
		if err != nil {
			return err
		}
		r.res.LastVersion = f.Version
		r.res.LastTimestamp = max(r.res.LastTimestamp, f.Timestamp)
		r.res.Frames++
		return nil
	})
	if err == nil {
		return end, nil
	}
	decodeErr := errors.Is(err, segment.ErrTruncated) || errors.Is(err, segment.ErrChecksum) || errors.Is(err, segment.ErrMalformed)
	if newest && decodeErr && segment.IsTornTail(data, end) {
		return end, nil
	}
	return 0, &segment.CorruptError{Path: s.Path(), Offset: end, Err: err}
}
