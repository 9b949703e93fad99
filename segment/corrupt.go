package segment

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrCorrupt marks damage in a data file. Package kv exports this same
// value as kv.ErrCorrupt.
var ErrCorrupt = errors.New("strata: data corrupt")

// CorruptError reports damage at a file offset. errors.Is(err, ErrCorrupt)
// holds for it, and so does errors.Is(err, Err). Package kv exports it as
// kv.CorruptError.
type CorruptError struct {
	File   string // path of the damaged file
	Offset int64  // byte offset of the damage in it
	Err    error  // what is wrong there
}

// Error names the file and the offset once, then the damage.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("strata: data corrupt: %s at offset %d: %v", e.File, e.Offset, e.Err)
}

// Unwrap returns ErrCorrupt and the underlying cause.
func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

// errShrunk explains a memory fault while reading a mapping.
var errShrunk = errors.New("the file shrank under its mapping (truncated by another process?)")

// GuardFault runs fn, which reads the mapping of the segment at path, and
// turns a memory fault during it (SIGBUS: the file was truncated under the
// mapping) into a *CorruptError at offset off instead of a crash of the
// process. Other panics pass through.
func GuardFault(path string, off int64, fn func() error) error {
	return GuardFaults(fn, func() (string, int64) { return path, off })
}

// GuardFaults is GuardFault for work over many values in many places: if
// fn faults, at names the file and offset it was reading.
func GuardFaults(fn func() error, at func() (path string, off int64)) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if p := recover(); p != nil {
			if _, fault := p.(interface{ Addr() uintptr }); !fault {
				panic(p)
			}
			path, off := at()
			err = &CorruptError{File: path, Offset: off, Err: errShrunk}
		}
	}()
	return fn()
}
