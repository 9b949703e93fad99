package vfs

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recacheWindow is how much of the file recacheHuge reads before it
// evicts what it read from its mapping: its pass adds at most this much
// to the process's resident memory.
const recacheWindow = 8 << 20

// noHuge holds, by device number, when a file of that device last read
// back through a MADV_HUGEPAGE mapping got no huge page (a file system
// without large folios, such as ext4 before Linux 6.16; THP off; no free
// 2 MiB of memory): recacheHuge leaves that device's files alone for
// noHugeFor after it, rather than drop them from the cache for nothing.
var noHuge sync.Map // uint64 -> time.Time

const noHugeFor = time.Hour

// recacheHuge is RecacheHuge for the OS's file system on Linux.
func recacheHuge(name string) (err error) {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size < hugePage || int64(int(size)) != size || !st.Mode().IsRegular() {
		return nil // nothing a huge page would hold, or not mappable
	}
	var dev uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		dev = uint64(sys.Dev)
	}
	if at, ok := noHuge.Load(dev); ok && time.Since(at.(time.Time)) < noHugeFor {
		return nil
	}
	fd := int(f.Fd())
	if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("fadvise %s: %w", name, err)
	}
	b, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap %s: %w", name, err)
	}
	defer unix.Munmap(b)
	// Advice: a kernel without transparent huge pages refuses it, and
	// the pass below finds no huge page.
	unix.Madvise(b, unix.MADV_HUGEPAGE)
	// A file cut short under the mapping faults beyond its new end: an
	// error, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read %s back: the file changed under its mapping (%v)", name, r)
		}
	}()
	for off := 0; off < len(b); off += recacheWindow {
		w := b[off:min(off+recacheWindow, len(b))]
		touchPages(w)
		if off == 0 {
			// The first window tells whether the device gives huge pages:
			// none, with at least one huge page's worth resident (a file
			// cut short under the pass has less), says it does not.
			v, err := smapsFields(uintptr(unsafe.Pointer(&b[0])), "Rss:", "FilePmdMapped:")
			if err != nil {
				noHuge.Store(dev, time.Now()) // cannot tell: as if none
				return err
			}
			if v[1] == 0 && v[0] >= hugePage {
				noHuge.Store(dev, time.Now())
				return nil // the rest comes back as reads need it
			}
			if v[1] > 0 {
				noHuge.Delete(dev)
			}
		}
		unix.Madvise(w, unix.MADV_DONTNEED) // out of the process; the cache keeps it
	}
	return nil
}

// touchPages reads a byte of every page of b, so that each is faulted in.
func touchPages(b []byte) {
	var sink byte
	for i := 0; i < len(b); i += os.Getpagesize() {
		sink ^= b[i]
	}
	runtime.KeepAlive(sink) // the loads are the point
}

// hugePage is the size of a transparent huge page on x86-64 (and arm64
// with 4 KiB pages): a smaller file has nothing to gain.
const hugePage = 2 << 20

// HugeMapped maps file name read-only, reads a byte of every page, and
// returns how many of its bytes the mapping held in huge pages
// (FilePmdMapped in /proc/self/smaps): what a reader of the file gets
// from RecacheHuge. For tests and diagnostics; 0 off Linux.
func HugeMapped(name string) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return 0, err
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0, fmt.Errorf("mmap %s: %w", name, err)
	}
	defer unix.Munmap(b)
	touchPages(b)
	v, err := smapsFields(uintptr(unsafe.Pointer(&b[0])), "FilePmdMapped:")
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// smapsFields returns the values of fields (in kB in the file, returned
// in bytes) of the mapping that holds addr, from /proc/self/smaps.
func smapsFields(addr uintptr, fields ...string) ([]int64, error) {
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(fields))
	found, in := 0, false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(f[0], "-"); ok && !strings.HasSuffix(f[0], ":") {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				if in {
					break // the mapping's fields are behind
				}
				in = uint64(addr) >= a && uint64(addr) < b
				continue
			}
		}
		if i := slices.Index(fields, f[0]); in && i >= 0 && len(f) >= 2 {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("/proc/self/smaps: %s %w", f[0], err)
			}
			out[i] = kb << 10
			found++
		}
	}
	if found < len(fields) {
		return nil, fmt.Errorf("/proc/self/smaps: no %v for the mapping at %#x", fields, addr)
	}
	return out, nil
}
