package kv

import (
	"errors"

	"github.com/strata-kv/strata/segment"
)

// Sentinel errors. Errors returned by this package wrap them with context
// (run, key, file, offset); test for them with errors.Is.
var (
	// ErrInvalidKey: a key or key prefix breaks the key rules (non-empty,
	// at most 1024 bytes, valid UTF-8, no NUL, not starting with
	// "_strata/"), or a Scan cursor was not produced by Scan for the same
	// run and prefix.
	ErrInvalidKey = errors.New("strata: invalid key")
	// ErrInvalidRun: a run ID is empty, longer than 256 bytes or holds NUL.
	ErrInvalidRun = errors.New("strata: invalid run")
	// ErrInvalidValue: a value nests deeper than 128 levels or its encoding
	// exceeds Options.MaxValueBytes.
	ErrInvalidValue = errors.New("strata: invalid value")
	// ErrNotFound: GetAt found no live version at or below the version
	// asked for.
	ErrNotFound = errors.New("strata: key not found")
	// ErrHistoryTrimmed: the version a read needs was dropped by
	// compaction under the Retention policy.
	ErrHistoryTrimmed = errors.New("strata: history trimmed by retention")
	// ErrWrongType: Incr met a value that is not an Int.
	ErrWrongType = errors.New("strata: wrong value type")
	// ErrOverflow: Incr's result does not fit in an int64.
	ErrOverflow = errors.New("strata: integer overflow")
	// ErrConflict: an Update's reads changed before it could commit.
	ErrConflict = errors.New("strata: transaction conflict")
	// ErrClosed: the DB was closed (or a Txn used after its function
	// returned).
	ErrClosed = errors.New("strata: database closed")
	// ErrReadOnly: a write on a read-only DB or inside View/ViewAt.
	ErrReadOnly = errors.New("strata: read-only")
	// ErrLocked: the data directory is held by another DB that conflicts
	// with this Open (a writer excludes everyone; readers share).
	ErrLocked = errors.New("strata: data directory locked")
	// ErrCorrupt: a data file is damaged. The error names file and offset.
	ErrCorrupt = segment.ErrCorrupt
)
