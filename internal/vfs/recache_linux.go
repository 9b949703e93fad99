package vfs

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recacheWindow is how much of the file recacheHuge holds mapped at a
// time: its pass adds at most this much to the process's resident
// memory.
const recacheWindow = 8 << 20

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
	if size < hugePage || int64(int(size)) != size {
		return nil // nothing a huge page would hold, or not mappable
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
	// the pass below then only reads the file back.
	unix.Madvise(b, unix.MADV_HUGEPAGE)
	// A file cut short under the mapping faults beyond its new end: an
	// error, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read %s: %v", name, r)
		}
	}()
	var sink byte
	page := os.Getpagesize()
	for off := 0; off < len(b); off += recacheWindow {
		w := b[off:min(off+recacheWindow, len(b))]
		for i := 0; i < len(w); i += page {
			sink ^= w[i]
		}
		unix.Madvise(w, unix.MADV_DONTNEED) // out of the process; the cache keeps it
	}
	runtime.KeepAlive(sink) // the loads are the point
	return nil
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
	var sink byte
	for i := 0; i < len(b); i += os.Getpagesize() {
		sink ^= b[i]
	}
	runtime.KeepAlive(sink) // the loads are the point
	return smapsField(uintptr(unsafe.Pointer(&b[0])), "FilePmdMapped:")
}

// smapsField returns field (in kB in the file, returned in bytes) of the
// mapping that holds addr, from /proc/self/smaps.
func smapsField(addr uintptr, field string) (int64, error) {
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(f[0], "-"); ok && !strings.HasSuffix(f[0], ":") {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				in = uint64(addr) >= a && uint64(addr) < b
				continue
			}
		}
		if in && f[0] == field && len(f) >= 2 {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s for the mapping at %#x in /proc/self/smaps", field, addr)
}
