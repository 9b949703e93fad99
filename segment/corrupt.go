package segment

import (
	"errors"
	"fmt"
)

// ErrCorrupt marks damage in a data file. Package kv exports this same
// value as kv.ErrCorrupt.
var ErrCorrupt = errors.New("strata: data corrupt")

// CorruptError reports damage at a file offset. errors.Is(err, ErrCorrupt)
// holds for it, and so does errors.Is(err, Err).
type CorruptError struct {
	Path   string
	Offset int64
	Err    error // what is wrong there
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("strata: data corrupt: %s at offset %d: %v", e.Path, e.Offset, e.Err)
}

// Unwrap returns ErrCorrupt and the underlying cause.
func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }
