package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-kv/strata/internal/vfs"
)

// Ext is the file name extension of segment files.
const Ext = ".seg"

// FileName returns the file name of segment id.
func FileName(id uint32) string { return idName(id, Ext) }

// ParseFileName returns the id of a segment file name, and false for any
// other name (temporary files included).
func ParseFileName(name string) (uint32, bool) { return parseIDName(name, Ext) }

// idName names the file of segment id with extension ext: the id in ten
// decimal digits, so that names sort as ids do.
func idName(id uint32, ext string) string { return fmt.Sprintf("%010d%s", id, ext) }

// parseIDName returns the id of a file name idName(id, ext) gives.
func parseIDName(name, ext string) (uint32, bool) {
	s, ok := strings.CutSuffix(name, ext)
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
// buffer by AppendCommit and written with one write(2) by Flush, or, once
// MapWrites is in effect, copied into a shared mapping of the file (no
// system call; see MapWrites), or for a flush of writeAtMin bytes or
// more, and every flush after SyncEachFlush, written there with one
// pwrite(2). One
// goroutine at a time may call AppendCommit, AppendMarker, Flush, Abort,
// ReadAt of buffered bytes and Close; Sync, Flushed and ReadAt of flushed
// bytes may be called concurrently with them.
//
// A Writer that fails (a write, or an fsync seen by Abort) is done: the
// frames it had buffered are dropped, the bytes the failed write may have
// left are cut off (as far as the file system still lets it), and every
// later append, flush and sync returns the failure. Nothing of a failed
// group ever reaches the file afterwards, not even at Close.
type Writer struct {
	path     string
	f        vfs.File
	enc      *Encoder
	flushed  atomic.Int64 // bytes in the file
	synced   atomic.Int64 // bytes known to be durable (fsynced)
	buf      []byte       // frames appended but not yet written
	failed   error        // set by the first failure; owned by the appender
	uncut    int64        // > 0: the size a failed group's cut back did not reach (Close tries again)
	uncutErr error        // Close's last try failed too (see Uncut)

	syncMu  sync.Mutex // orders Sync against Abort and Close
	closed  bool
	dead    bool  // failed: Sync does nothing more
	syncErr error // the first failed fsync: every later Sync returns it

	// With MapWrites in effect: m maps the file's first len(m) bytes,
	// which are allocated; maps holds every mapping made (the newest
	// last), kept until Close or Seal hands them on, so that what a
	// reader took from one stays valid. view is m for readers (after
	// Seal, the Sealed's bytes).
	m    []byte
	maps []vfs.Mapping
	view atomic.Pointer[[]byte]
	// mirror is Frames' copy of the flushed bytes where there is no
	// view, extended as frames are flushed (under mirrorMu).
	mirrorMu sync.Mutex
	mirror   []byte
	// sealed is what Seal made of the Writer: view shows its bytes, so
	// a reader still holding the Writer must keep it, and its mapping,
	// alive (a Sealed retired by compaction is unmapped once
	// unreachable).
	sealed *Sealed

	onSync func(time.Duration) // see OnSync
	// syncEach: an fsync follows every Flush (see SyncEachFlush).
	syncEach bool
	// probed holds the byte copyOut loads before a pwrite (see there),
	// so that the load is not optimized away.
	probed byte
}

// mapChunk is what a mapping grows by, at least.
const mapChunk = 1 << 20

// MapWrites makes Flush copy frames into a shared read-write mapping of
// the file instead of writing them (a long flush, and every flush after
// SyncEachFlush, is written at its offset, through the same page cache:
// see writeAtMin), and ReadAt slice
// flushed bytes out of it, when the file system can (vfs.SharedMapper);
// it reports whether it did. The file is first made capacity bytes long
// with its blocks allocated, so the writes cannot fail for want of space
// (a frame beyond capacity grows the file and maps it again). Until Close
// or Seal cut it back, the file ends in zeros past its frames: after a
// crash, recovery finds them there and cuts them.
func (w *Writer) MapWrites(capacity int64) bool {
	sm, ok := w.f.(vfs.SharedMapper)
	if !ok || w.m != nil || w.failed != nil {
		return w.m != nil
	}
	if err := w.remap(sm, max(capacity, w.flushed.Load()+1)); err != nil {
		return false
	}
	return true
}

func (w *Writer) remap(sm vfs.SharedMapper, size int64) error {
	size = (size + mapChunk - 1) / mapChunk * mapChunk
	m, err := sm.MapShared(size)
	if err != nil {
		return err
	}
	if n := len(w.maps); n > 0 {
		// Writes go to the new mapping from now on: drop the old one's
		// pages from memory (the page cache keeps them; a reader still
		// holding a view of it maps them back).
		vfs.Evict(w.maps[n-1])
	}
	w.maps = append(w.maps, m)
	w.m = m.Bytes()
	view := w.m
	w.view.Store(&view)
	return nil
}

// Create creates segment id in dir atomically (temporary name, header,
// sync, rename, directory sync) and returns a Writer appending to it. Its
// first commit takes version base, with a timestamp no earlier than
// baseTime.
func Create(fs vfs.FS, dir string, id uint32, base uint64, baseTime int64) (*Writer, error) {
	path := filepath.Join(dir, FileName(id))
	h := NewHeader(id, base, baseTime)
	if err := vfs.WriteFileAtomic(fs, path, h.Encode()); err != nil {
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	return open(fs, path, NewEncoder(h), HeaderSize)
}

// CreateCompacted creates compacted segment id in dir (see the package
// doc), covering versions base through last, atomically as Create does,
// and returns a Writer appending its commits: each version in the range at
// most once, in order, none before baseTime. It writes with write(2); the
// caller seals it (Seal fsyncs it) before anything points at it.
func CreateCompacted(fs vfs.FS, dir string, id uint32, base, last uint64, baseTime int64) (*Writer, error) {
	if last < base {
		return nil, fmt.Errorf("segment: compacted segment %d covering versions %d to %d", id, base, last)
	}
	path := filepath.Join(dir, FileName(id))
	h := NewHeader(id, base, baseTime)
	h.Last = last
	if err := vfs.WriteFileAtomic(fs, path, h.Encode()); err != nil {
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	return open(fs, path, NewEncoder(h), HeaderSize)
}

func open(fs vfs.FS, path string, enc *Encoder, size int64) (*Writer, error) {
	f, err := fs.OpenRW(path)
	if err != nil {
		return nil, fmt.Errorf("open segment %s: %w", path, err)
	}
	w := &Writer{path: path, f: f, enc: enc}
	w.flushed.Store(size)
	w.synced.Store(size)
	return w, nil
}

// ID returns the segment id.
func (w *Writer) ID() uint32 { return w.enc.hdr.ID }

// BaseVersion returns the version of the segment's first commit.
func (w *Writer) BaseVersion() uint64 { return w.enc.hdr.BaseVersion }

// Path returns the segment's file path.
func (w *Writer) Path() string { return w.path }

// Size returns the segment's size including frames not yet flushed. Only
// the appending goroutine may call it; others use Flushed.
func (w *Writer) Size() int64 { return w.flushed.Load() + int64(len(w.buf)) }

// Flushed returns the number of bytes written to the file. Any goroutine
// may call it.
func (w *Writer) Flushed() int64 { return w.flushed.Load() }

// Synced returns the number of bytes known to be durable.
func (w *Writer) Synced() int64 { return w.synced.Load() }

// Err returns the failure that stopped the writer, or nil.
func (w *Writer) Err() error { return w.failed }

// AppendCommit buffers the frame of commit version (the next in
// sequence) with timestamp ts (no earlier than the previous frame's). It
// returns the frame's offset and appends each entry's value offset in the
// file to offs.
func (w *Writer) AppendCommit(version uint64, ts int64, ents []EntrySpec, offs []int64) (int64, []int64, error) {
	if w.failed != nil {
		return 0, offs, w.failed
	}
	off := w.Size()
	var err error
	w.buf, offs, err = w.enc.AppendCommit(w.buf, off, w.synced.Load(), version, ts, ents, offs)
	return off, offs, err
}

// AppendMarker buffers a sync marker: a frame with no commit whose only
// use is to record how much of the file is synced. It appends nothing when
// the frames already claim every commit that is synced.
func (w *Writer) AppendMarker() error {
	if w.failed != nil {
		return w.failed
	}
	var err error
	w.buf, _, err = w.enc.AppendMarker(w.buf, w.Size(), w.synced.Load())
	return err
}

// Pending reports whether frames are buffered but not yet flushed.
func (w *Writer) Pending() bool { return len(w.buf) > 0 }

// Flush writes the buffered frames with one write. If the write fails the
// writer fails (see Writer): the buffered frames are dropped and the file
// is cut back to its size before the write.
func (w *Writer) Flush() error {
	if w.failed != nil {
		return w.failed
	}
	if len(w.buf) == 0 {
		return nil
	}
	var n int
	var err error
	if w.m != nil {
		n, err = w.copyOut()
	} else {
		n, err = w.f.Write(w.buf)
	}
	if err != nil {
		err = fmt.Errorf("write segment %s: %w", w.path, err)
		if n > 0 {
			w.cutBack(w.flushed.Load(), w.flushed.Load()+int64(n))
		}
		w.fail(err)
		return err
	}
	w.flushed.Add(int64(n))
	if cap(w.buf) > maxKeptBuffer {
		w.buf = nil // do not pin the memory of one huge commit
	} else {
		w.buf = w.buf[:0]
	}
	return nil
}

// writeAtMin is the size from which Flush writes a buffer with a system
// call (vfs.SharedMapper.WriteAt) rather than a copy into the mapping.
// A copy takes a page fault for each page it writes first, and the file
// system's work to make the page writable with it (ext4: about 7 us a
// page here), where pwrite(2) costs about 2 us and a little per page.
// Measured on 1M puts of 100-byte values: batches of 1000 (130 KB a
// commit) went from 0.79-0.85M to 0.99-1.06M puts/s; single puts (136
// bytes) fell from 1.07-1.14M to 0.84-0.85M through pwrite, so small
// commits keep copying; from 2 to 64 puts a commit the two were within
// the noise of each other. (SyncEachFlush writes every flush so.)
const writeAtMin = 2 << 10

// copyOut copies the buffer into the mapping, mapping more of the file
// first if it does not fit, or writes it there with WriteAt if it is
// long (see writeAtMin) or SyncEachFlush said so. A copy is all or nothing; a WriteAt that fails
// may have written part, which Flush's cutBack zeroes and cuts off.
func (w *Writer) copyOut() (int, error) {
	off := w.flushed.Load()
	end := off + int64(len(w.buf))
	if end > int64(len(w.m)) {
		if err := w.remap(w.f.(vfs.SharedMapper), max(end, 2*int64(len(w.m)))); err != nil {
			return 0, err
		}
	}
	if len(w.buf) >= writeAtMin || w.syncEach {
		// A system call costs less than the page faults of a copy this
		// long (see writeAtMin), or than the one fault of a copy into a
		// page the last fsync write-protected (see SyncEachFlush). But
		// where a copy into a file cut under the mapping faults (below),
		// a pwrite would extend it with a hole of zeros and succeed: load
		// the range's last byte through the mapping first, which faults
		// as the copy would.
		if err := GuardFault(w.path, end-1, func() error {
			w.probed = w.m[end-1]
			return nil
		}); err != nil {
			return 0, err
		}
		return w.f.(vfs.SharedMapper).WriteAt(w.buf, off)
	}
	// A file cut under the mapping (by another process), or a file system
	// that did not really reserve the blocks, faults here: fail the
	// write instead of the process.
	var n int
	err := GuardFault(w.path, off, func() error {
		n = copy(w.m[off:end], w.buf)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Abort fails the writer with err after a failure outside it (an fsync
// that the caller saw fail, say): buffered frames are dropped and the file
// is cut back to size to (the size before the failed group), as far as
// the file system lets it. Abort does not sync.
func (w *Writer) Abort(err error, to int64) {
	if w.failed != nil {
		return
	}
	if to < w.flushed.Load() {
		w.cutBack(to, w.flushed.Load())
	}
	w.fail(err)
}

func (w *Writer) fail(err error) {
	w.failed = err
	w.buf = nil
	w.syncMu.Lock()
	w.dead = true
	w.syncMu.Unlock()
}

// cutBack truncates the file to size, best effort: the writer is failing
// anyway, and bytes it leaves are an unsynced tail that recovery cuts.
// With a mapping it first zeroes the bytes from size to end (the end of
// what was written: a failed write may have gone past the flushed size).
func (w *Writer) cutBack(size, end int64) {
	if w.m != nil {
		// The bytes are in the page cache: zero them, so that the file
		// holds none of them whatever the truncation does.
		GuardFault(w.path, size, func() error {
			clear(w.m[size:end])
			return nil
		})
		w.flushed.Store(size)
		w.f.Truncate(size)
		return
	}
	if err := w.f.Truncate(size); err == nil {
		w.flushed.Store(size)
		w.uncut = 0
	} else {
		// Whole frames of the failed group may be left, which recovery
		// would keep: Close tries again, and says so if it cannot
		// (review 59).
		w.uncut = size
	}
}

// Sync makes the flushed frames durable and records how far the file is
// synced, which later frames carry. After Seal, Close or a failure of the
// writer it does nothing; after a failed fsync, whoever called it, every
// Sync returns that failure.
func (w *Writer) Sync() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.syncErr != nil {
		// After a failed fsync the kernel may have dropped the dirty
		// pages and marked them clean: a later fsync that succeeds
		// proves nothing about them. Every later Sync fails.
		return w.syncErr
	}
	if w.closed || w.dead {
		return nil
	}
	size := w.flushed.Load()
	if size == w.synced.Load() {
		return nil // the last fsync covered every flushed byte
	}
	if err := w.fsync(); err != nil {
		w.syncErr = fmt.Errorf("sync segment %s: %w", w.path, err)
		return w.syncErr
	}
	if size > w.synced.Load() {
		w.synced.Store(size)
	}
	return nil
}

// SyncEachFlush tells a Writer with MapWrites in effect that every Flush
// will be followed by a Sync (Strict durability), so that Flush writes
// with pwrite(2) whatever the size instead of copying into the mapping:
// an fsync's writeback write-protects the pages of the mapping it
// writes, so the next copy into the page the last commit ended in takes
// a write fault, and the fsync after it a TLB flush on the other cores
// the process runs on, where a pwrite takes neither. A copy of the
// bench's W5 (8 goroutines committing with fsync) did 3% to 29% more
// commits a second this way in 22 of 25 pairs, alternating; a serial
// write and fsync of 1100 bytes about 15% more (5 of 6 pairs). Call it
// before the Writer is used.
func (w *Writer) SyncEachFlush() { w.syncEach = true }

// OnSync sets a function called with the duration of every fsync the
// Writer makes (Sync, Seal, Close). Set it before the Writer is used.
func (w *Writer) OnSync(fn func(time.Duration)) { w.onSync = fn }

func (w *Writer) fsync() error {
	start := time.Now()
	err := w.f.Sync()
	if w.onSync != nil {
		w.onSync(time.Since(start))
	}
	return err
}

// Frames returns the file's flushed bytes, header included: a view of
// the mapping when the writer writes through one (valid until Close or,
// after Seal, the Sealed's Close), else a copy read from the file, kept
// and extended by later calls with what was flushed since, so that a
// call reads only the new bytes (review 64: a change feed on an
// InMemory database copied the whole active segment at every call).
// Any goroutine may call it; the bytes returned never change.
func (w *Writer) Frames() ([]byte, error) {
	flushed := w.flushed.Load()
	if v := w.view.Load(); v != nil && flushed <= int64(len(*v)) {
		return (*v)[:flushed:flushed], nil
	}
	w.mirrorMu.Lock()
	defer w.mirrorMu.Unlock()
	if have := int64(len(w.mirror)); have < flushed {
		p := slices.Grow(w.mirror, int(flushed-have))[:flushed]
		if _, err := w.f.ReadAt(p[have:], have); err != nil {
			if v := w.view.Load(); v != nil && flushed <= int64(len(*v)) {
				return (*v)[:flushed:flushed], nil // sealed meanwhile: the Sealed's bytes
			}
			return nil, fmt.Errorf("read: %w", err)
		}
		w.mirror = p
	}
	return w.mirror[:flushed:flushed], nil
}

// dropMirror lets Frames' copy go once nothing reads it again (Seal,
// Close: review 65); slices handed out stay valid.
func (w *Writer) dropMirror() {
	w.mirrorMu.Lock()
	w.mirror = nil
	w.mirrorMu.Unlock()
}

// Value returns the stored value whose field (see FieldValue) is at off,
// which must lie where ReadAt may read; the bytes are as ReadAt's. With
// MapWrites it reads the mapping, so a caller calls it under GuardFaults.
func (w *Writer) Value(off int64) ([]byte, error) {
	end := w.flushed.Load()
	if off >= end {
		end = w.Size() // buffered frames: only the appending goroutine reads them
	}
	avail := end - off
	if off < HeaderSize || avail <= 0 {
		return nil, fmt.Errorf("%w: a value field at %d, outside the file's %d bytes", ErrMalformed, off, end)
	}
	head, err := w.ReadAt(off, int(min(binary.MaxVarintLen64, avail)))
	if err != nil {
		return nil, err
	}
	n, k := binary.Uvarint(head)
	if k <= 0 || n > uint64(avail-int64(k)) {
		return nil, errNoField // as FieldValue says, whichever way the field is read
	}
	return w.ReadAt(off+int64(k), int(n))
}

// From returns the mapped bytes from off to the end of the flushed
// frames, nil if the writer has no mapping or off is not past the header
// and before that end. It reads nothing; the bytes are as ReadAt's.
func (w *Writer) From(off int64) []byte {
	flushed := w.flushed.Load()
	if v := w.view.Load(); v != nil && off >= HeaderSize && off < min(flushed, int64(len(*v))) {
		return (*v)[off:min(flushed, int64(len(*v)))]
	}
	return nil
}

// ReadAt returns n bytes at off, which must lie within flushed frames
// (those are the only ones readers can see) or, for the goroutine that
// appends, within the buffered ones. The returned bytes must not be
// modified; with MapWrites they may be a view of the mapping, valid until
// Close or, after Seal, the Sealed's Close.
func (w *Writer) ReadAt(off int64, n int) ([]byte, error) {
	flushed := w.flushed.Load()
	if off < 0 || n < 0 {
		return nil, fmt.Errorf("%w: a read of %d bytes at a negative offset or length", ErrMalformed, n)
	}
	if v := w.view.Load(); v != nil && off >= HeaderSize && off+int64(n) <= min(flushed, int64(len(*v))) {
		// A view of the mapping, which stays valid until Close (or, after
		// Seal, until the Sealed's Close).
		return (*v)[off : off+int64(n) : off+int64(n)], nil
	}
	p := make([]byte, n)
	if off >= flushed {
		rel := off - flushed
		if rel+int64(n) > int64(len(w.buf)) {
			return nil, fmt.Errorf("%w: a read of %d bytes past the end of the file", ErrMalformed, n)
		}
		copy(p, w.buf[rel:])
		return p, nil
	}
	if off+int64(n) > flushed {
		return nil, fmt.Errorf("%w: a read of %d bytes past the end of the file", ErrMalformed, n)
	}
	if _, err := w.f.ReadAt(p, off); err != nil {
		// Seal may have closed the file under this read: it set the
		// view to the Sealed's bytes first.
		if v := w.view.Load(); v != nil && off >= HeaderSize && off+int64(n) <= int64(len(*v)) {
			return (*v)[off : off+int64(n) : off+int64(n)], nil
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	return p, nil
}

// Close closes the file. With sync (and no failure) it first flushes,
// fsyncs, appends a sync marker and fsyncs again, so that the segment
// records that every commit in it is durable. A failed writer writes
// nothing and returns its failure.
func (w *Writer) Close(sync bool) error {
	err := w.failed
	if err == errSealed {
		return nil
	}
	if err == nil && sync {
		err = w.Flush()
		if err == nil {
			err = w.Sync()
		}
		if err == nil && w.enc.NeedsMarker(w.synced.Load()) {
			if err = w.AppendMarker(); err == nil {
				if err = w.Flush(); err == nil {
					err = w.Sync()
				}
			}
		}
	}
	if err == nil && w.m != nil {
		err = w.trim()
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.closed {
		return err
	}
	w.closed = true
	if w.m != nil && w.failed != nil {
		w.f.Truncate(w.flushed.Load()) // best effort: recovery cuts zeros anyway
	}
	if w.m == nil && w.uncut > 0 {
		if terr := w.f.Truncate(w.uncut); terr != nil {
			w.uncutErr = fmt.Errorf("segment %s: the bytes from offset %d on, of commits that failed, could not be cut (%w): "+
				"opened again, the database may show those commits", w.path, w.uncut, terr)
			err = errors.Join(err, w.uncutErr)
		} else {
			w.f.Sync() // best effort: an unsynced cut still holds for a process crash
		}
	}
	for _, m := range w.maps {
		if cerr := m.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	w.maps, w.m = nil, nil
	w.view.Store(nil)
	w.dropMirror()
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

// Uncut returns, after Close, the error that says a failed group's bytes
// could not be cut from the file (Close returns it too, joined with the
// failure), or nil.
func (w *Writer) Uncut() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	return w.uncutErr
}

// trim cuts the file back to its frames (MapWrites made it longer) and
// makes that size durable.
func (w *Writer) trim() error {
	if err := w.f.Truncate(w.flushed.Load()); err != nil {
		return fmt.Errorf("truncate segment %s: %w", w.path, err)
	}
	if err := w.fsync(); err != nil {
		return fmt.Errorf("sync segment %s: %w", w.path, err)
	}
	return nil
}

// Seal ends the segment: it flushes, fsyncs, cuts the file to its frames
// and returns it as a Sealed, closing the Writer. With MapWrites the
// Sealed reads through the Writer's mappings, so views ReadAt returned
// stay valid until the Sealed's Close; a Writer's ReadAt after Seal reads
// the Sealed's bytes. If sealing fails, Seal returns a nil Sealed and the
// Writer is as before (the caller fails or closes it). Once the frames
// are durable the segment is sealed whatever else happens: if closing the
// file's descriptor then fails, Seal returns the Sealed and that error.
func (w *Writer) Seal(fs vfs.FS) (*Sealed, error) {
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := w.Sync(); err != nil {
		return nil, err
	}
	var s *Sealed
	if w.m == nil {
		var err error
		if s, err = OpenSealed(fs, w.path); err != nil {
			return nil, err
		}
	} else if err := w.trim(); err != nil {
		return nil, err
	}
	if w.m != nil {
		size := w.flushed.Load()
		s = &Sealed{hdr: w.enc.hdr, path: w.path, m: multiMapping(w.maps), data: w.m[:size:size]}
		w.maps, w.m = nil, nil // the Sealed's now
		// Its pages were written once and are durable: let reads bring
		// back the ones they need.
		s.Evict()
	}
	// Readers that still hold this Writer read through the Sealed from
	// now on: set before the descriptor closes, so a read of the closed
	// file finds it (see ReadAt).
	data := s.data
	w.sealed = s
	w.view.Store(&data)
	w.dropMirror() // Frames reads the Sealed's bytes from now on
	w.failed = errSealed
	w.syncMu.Lock()
	w.closed = true
	w.syncMu.Unlock()
	cerr := w.f.Close()
	if cerr != nil {
		return s, fmt.Errorf("close segment %s: %w", w.path, cerr)
	}
	return s, nil
}

var errSealed = errors.New("segment: sealed")

// multiMapping closes several mappings as one; Bytes is the newest's.
type multiMapping []vfs.Mapping

// Bytes returns the newest mapping's bytes, which cover the whole file.
func (mm multiMapping) Bytes() []byte { return mm[len(mm)-1].Bytes() }

// Close releases every mapping and returns the first error.
func (mm multiMapping) Close() error {
	var err error
	for _, m := range mm {
		if cerr := m.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Sealed is a segment that is no longer written, read through a mapping.
type Sealed struct {
	hdr  Header
	path string
	m    vfs.Mapping
	data []byte
}

// OpenSealed opens and maps segment file path, checking its header. The
// frames are not verified here (recovery does that). A damaged header
// gives an error wrapping ErrBadHeader, a file of another format version
// one wrapping ErrOldFormat; neither names the file (callers do).
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
	h, err := DecodeHeader(m.Bytes())
	if err != nil {
		m.Close()
		return nil, err
	}
	if want, ok := ParseFileName(filepath.Base(path)); ok && want != h.ID {
		m.Close()
		return nil, fmt.Errorf("%w: the header says segment %d", ErrBadHeader, h.ID)
	}
	return &Sealed{hdr: h, path: path, m: m, data: m.Bytes()}, nil
}

// ID returns the segment id.
func (s *Sealed) ID() uint32 { return s.hdr.ID }

// Header returns the segment's header.
func (s *Sealed) Header() Header { return s.hdr }

// Scanner returns a Scanner over the segment's frames.
func (s *Sealed) Scanner() *Scanner {
	return newScanner(s.hdr, s.data)
}

// ScannerTo returns a Scanner over the first size bytes of the segment
// alone (all of it if size is beyond its end): recovery's salvage reads
// the frames a file and its manifest entry share when their sizes differ.
func (s *Sealed) ScannerTo(size int64) *Scanner {
	if size >= HeaderSize && size < int64(len(s.data)) {
		return newScanner(s.hdr, s.data[:size:size])
	}
	return s.Scanner()
}

// Path returns the segment's file path.
func (s *Sealed) Path() string { return s.path }

// Bytes returns the whole mapped file, header included. The bytes are
// valid until Close and must not be modified.
func (s *Sealed) Bytes() []byte { return s.data }

// Value returns the stored value whose field (see FieldValue) is at off:
// a view of the mapping, valid until Close. It reads the mapping, so a
// caller calls it under GuardFaults.
func (s *Sealed) Value(off int64) ([]byte, error) {
	b := s.From(off)
	if b == nil {
		return nil, fmt.Errorf("%w: a value field at %d, outside the file's %d bytes", ErrMalformed, off, len(s.data))
	}
	if len(b) > 64 && off%pageSize+64 < pageSize {
		// The next cache line, which most values of more than a few
		// dozen bytes reach: its miss overlaps the length's. Never in
		// the next page, which may be gone (a file truncated under its
		// mapping) while a short value before it is whole.
		runtime.KeepAlive(b[64])
	}
	return FieldValue(b)
}

// pageSize is the system's memory page size.
var pageSize = int64(os.Getpagesize())

// From returns the mapped bytes from off to the end of the file, nil if
// off is not past the header and before the end. It reads nothing.
func (s *Sealed) From(off int64) []byte {
	if off < HeaderSize || off >= int64(len(s.data)) {
		return nil
	}
	return s.data[off:]
}

// TouchEnd reads the mapping's last byte: it faults if the file shrank
// under the mapping by a page or more, whose lost pages a read before it
// may have seen as zeros. Callers call it under GuardFaults when bytes
// read from the mapping make no sense, so that the error says why.
func (s *Sealed) TouchEnd() {
	if len(s.data) > 0 {
		runtime.KeepAlive(s.data[len(s.data)-1])
	}
}

// Slice returns the n mapped bytes at off, checking bounds. The bytes
// are valid until Close.
func (s *Sealed) Slice(off int64, n int) ([]byte, error) {
	if off < HeaderSize || n < 0 || off > int64(len(s.data)) || int64(n) > int64(len(s.data))-off {
		return nil, fmt.Errorf("%w: a read of %d bytes outside the file's %d bytes", ErrMalformed, n, len(s.data))
	}
	return s.data[off : off+int64(n) : off+int64(n)], nil
}

// Clip makes the segment end at size (at most its length): what follows
// (a torn tail or reserved zeros, which a read-only Open leaves in the
// file) is neither read nor counted.
func (s *Sealed) Clip(size int64) {
	if size >= HeaderSize && size < int64(len(s.data)) {
		s.data = s.data[:size:size]
	}
}

// Evict drops the segment's pages from the process's memory (see
// vfs.Evict); reads map them again from the page cache as needed.
func (s *Sealed) Evict() {
	if mm, ok := s.m.(multiMapping); ok {
		for _, m := range mm {
			vfs.Evict(m)
		}
		return
	}
	vfs.Evict(s.m)
}

// Close releases the mapping.
func (s *Sealed) Close() error { return s.m.Close() }

// DataEnd returns the offset after the last nonzero byte of b at or after
// from (from if there is none): where the zeros that end a segment begin,
// space MapWrites reserved that no frame used.
func DataEnd(b []byte, from int64) int64 {
	i := int64(len(b))
	for i > from && i%8 != 0 {
		if b[i-1] != 0 {
			return i
		}
		i--
	}
	for i-8 >= from && binary.LittleEndian.Uint64(b[i-8:i]) == 0 {
		i -= 8
	}
	for i > from && b[i-1] == 0 {
		i--
	}
	return i
}

// Retire is Close for a segment readers may still hold: the mapping is
// released once nothing references s any more (compaction removed it
// from the set, and the last reader holding it is done).
func (s *Sealed) Retire() {
	runtime.AddCleanup(s, func(m vfs.Mapping) { m.Close() }, s.m)
}
