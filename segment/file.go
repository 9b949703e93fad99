package segment

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/strata-kv/strata/internal/vfs"
)

// Ext is the file name extension of segment files.
const Ext = ".seg"

// FileName returns the file name of segment id.
func FileName(id uint32) string { return fmt.Sprintf("%010d%s", id, Ext) }

// ParseFileName returns the id of a segment file name, and false for any
// other name (temporary files included).
func ParseFileName(name string) (uint32, bool) {
	s, ok := strings.CutSuffix(name, Ext)
	if !ok || len(s) != 10 {
		return 0, false
	}
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil || id == 0 {
		return 0, false
	}
	return uint32(id), true
}

// maxKeptBuffer is the largest write buffer kept for reuse after Flush.
const maxKeptBuffer = 1 << 20

// Writer appends frames to the active segment. Frames are collected in a
// buffer by AppendFrame and written with one write(2) by Flush. One
// goroutine at a time may call AppendFrame, Flush, ReadPending and Seal;
// ReadAt and Sync may be called concurrently with them.
type Writer struct {
	id      uint32
	path    string
	f       vfs.File
	flushed atomic.Int64 // bytes in the file
	buf     []byte       // frames appended but not yet written

	syncMu sync.Mutex // orders Sync against Seal and Close
	closed bool
}

// Create creates segment id in dir atomically (temporary name, header,
// sync, rename, directory sync) and returns a Writer appending to it.
func Create(fs vfs.FS, dir string, id uint32) (*Writer, error) {
	path := filepath.Join(dir, FileName(id))
	if err := vfs.WriteFileAtomic(fs, path, EncodeHeader(id)); err != nil {
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	return OpenAppend(fs, dir, id, HeaderSize)
}

// OpenAppend opens an existing segment of size bytes (already verified by
// recovery) for appending.
func OpenAppend(fs vfs.FS, dir string, id uint32, size int64) (*Writer, error) {
	path := filepath.Join(dir, FileName(id))
	f, err := fs.OpenRW(path)
	if err != nil {
		return nil, fmt.Errorf("open segment %s: %w", path, err)
	}
	w := &Writer{id: id, path: path, f: f}
	w.flushed.Store(size)
	return w, nil
}

// ID returns the segment id.
func (w *Writer) ID() uint32 { return w.id }

// Path returns the segment's file path.
func (w *Writer) Path() string { return w.path }

// Size returns the segment's size including frames not yet flushed. Only
// the appending goroutine may call it; others use Flushed.
func (w *Writer) Size() int64 { return w.flushed.Load() + int64(len(w.buf)) }

// Flushed returns the number of bytes written to the file. Any goroutine
// may call it.
func (w *Writer) Flushed() int64 { return w.flushed.Load() }

// AppendFrame buffers a frame (see AppendFrame in format.go) and returns
// its offset in the segment.
func (w *Writer) AppendFrame(version uint64, ts int64, count int, blob []byte) int64 {
	off := w.Size()
	w.buf = AppendFrame(w.buf, version, ts, count, blob)
	return off
}

// Pending reports whether frames are buffered but not yet flushed.
func (w *Writer) Pending() bool { return len(w.buf) > 0 }

// Flush writes the buffered frames with one write. On error the caller
// must stop writing to the segment: how much reached the file is unknown.
func (w *Writer) Flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.Write(w.buf)
	if err != nil {
		return fmt.Errorf("write segment %s: %w", w.path, err)
	}
	w.flushed.Add(int64(n))
	if cap(w.buf) > maxKeptBuffer {
		w.buf = nil // do not pin the memory of one huge commit
	} else {
		w.buf = w.buf[:0]
	}
	return nil
}

// Sync makes the flushed frames durable. After Seal or Close it does
// nothing.
func (w *Writer) Sync() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.closed {
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync segment %s: %w", w.path, err)
	}
	return nil
}

// ReadAt returns n bytes at off, which must lie within flushed frames
// (those are the only ones readers can see) or, for the goroutine that
// appends, within the buffered ones. The returned bytes are the caller's.
func (w *Writer) ReadAt(off int64, n int) ([]byte, error) {
	flushed := w.flushed.Load()
	if off < 0 || n < 0 {
		return nil, fmt.Errorf("%w: read of %d bytes at %d in %s", ErrMalformed, n, off, w.path)
	}
	p := make([]byte, n)
	if off >= flushed {
		rel := off - flushed
		if rel+int64(n) > int64(len(w.buf)) {
			return nil, fmt.Errorf("%w: read of %d bytes at %d past the end of %s", ErrMalformed, n, off, w.path)
		}
		copy(p, w.buf[rel:])
		return p, nil
	}
	if off+int64(n) > flushed {
		return nil, fmt.Errorf("%w: read of %d bytes at %d past the end of %s", ErrMalformed, n, off, w.path)
	}
	if _, err := w.f.ReadAt(p, off); err != nil {
		return nil, fmt.Errorf("read segment %s at %d: %w", w.path, off, err)
	}
	return p, nil
}

// Close flushes, syncs if sync is set, and closes the file.
func (w *Writer) Close(sync bool) error {
	err := w.Flush()
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.closed {
		return err
	}
	if err == nil && sync {
		if serr := w.f.Sync(); serr != nil {
			err = fmt.Errorf("sync segment %s: %w", w.path, serr)
		}
	}
	w.closed = true
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

// Sealed is a segment that is no longer written, read through a mapping.
type Sealed struct {
	id   uint32
	path string
	m    vfs.Mapping
	data []byte
}

// OpenSealed opens and maps segment file path, checking its header. The
// frames are not verified here (recovery does that).
func OpenSealed(fs vfs.FS, path string) (*Sealed, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open segment %s: %w", path, err)
	}
	m, err := f.Map()
	f.Close() // the mapping outlives the descriptor
	if err != nil {
		return nil, fmt.Errorf("map segment %s: %w", path, err)
	}
	id, err := DecodeHeader(m.Bytes())
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("segment %s offset 0: %w", path, err)
	}
	if want, ok := ParseFileName(filepath.Base(path)); ok && want != id {
		m.Close()
		return nil, fmt.Errorf("segment %s offset 0: %w: header says segment %d", path, ErrBadHeader, id)
	}
	return &Sealed{id: id, path: path, m: m, data: m.Bytes()}, nil
}

// ID returns the segment id.
func (s *Sealed) ID() uint32 { return s.id }

// Path returns the segment's file path.
func (s *Sealed) Path() string { return s.path }

// Bytes returns the whole mapped file, header included. The bytes are
// valid until Close and must not be modified.
func (s *Sealed) Bytes() []byte { return s.data }

// Slice returns the n mapped bytes at off, checking bounds. The bytes
// are valid until Close.
func (s *Sealed) Slice(off int64, n int) ([]byte, error) {
	if off < HeaderSize || n < 0 || off > int64(len(s.data)) || int64(n) > int64(len(s.data))-off {
		return nil, fmt.Errorf("%w: read of %d bytes at %d outside %s (%d bytes)", ErrMalformed, n, off, s.path, len(s.data))
	}
	return s.data[off : off+int64(n) : off+int64(n)], nil
}

// Close releases the mapping.
func (s *Sealed) Close() error { return s.m.Close() }
