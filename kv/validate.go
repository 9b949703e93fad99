package kv

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/strata-kv/strata/segment"
)

// Limits on runs and keys.
const (
	MaxRunBytes = segment.MaxRunLen // 256
	MaxKeyBytes = segment.MaxKeyLen // 1024
	// ReservedPrefix starts keys that Strata keeps for itself.
	ReservedPrefix = "_strata/"
)

// clip shortens s for an error message.
func clip(s string) string {
	// strconv, not fmt: s passed to fmt would escape, and with it every
	// key a read is given (a caller's string(b) of a []byte key would
	// need memory of its own where it now takes none).
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
	}
	return strconv.Quote(s)
}

func checkRun(run RunID) error {
	switch {
	case run == "":
		return fmt.Errorf("%w: empty run ID", ErrInvalidRun)
	case len(run) > MaxRunBytes:
		return fmt.Errorf("%w: run ID %s longer than %d bytes", ErrInvalidRun, clip(string(run)), MaxRunBytes)
	case strings.IndexByte(string(run), 0) >= 0:
		return fmt.Errorf("%w: run ID %s holds a NUL byte", ErrInvalidRun, clip(string(run)))
	}
	return nil
}

func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("%w: key %s longer than %d bytes", ErrInvalidKey, clip(key), MaxKeyBytes)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: key %s is not valid UTF-8", ErrInvalidKey, clip(key))
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("%w: key %s holds a NUL byte", ErrInvalidKey, clip(key))
	case strings.HasPrefix(key, ReservedPrefix):
		return fmt.Errorf("%w: key %s starts with the reserved %q", ErrInvalidKey, clip(key), ReservedPrefix)
	}
	return nil
}

// CheckRunKey returns the error any method given run and key returns for
// them (ErrInvalidRun, ErrInvalidKey), or nil if they are valid: for
// tools that take a run and a key without a DB (CheckWrite checks a
// value too).
func CheckRunKey(run RunID, key string) error { return checkRunKey(run, key) }

// CheckRun returns the error any method given run returns for it
// (ErrInvalidRun), or nil if it is valid: for tools that take a run
// without a DB.
func CheckRun(run RunID) error { return checkRun(run) }

// CheckValue returns the error a write of v returns (ErrInvalidValue:
// nested too deep, or encoded larger than maxBytes; 0 means
// DefaultMaxValueBytes), or nil, encoding nothing: for tools that check
// their input before they open a DB.
func CheckValue(v Value, maxBytes int) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxValueBytes
	}
	n, err := valueSize(v, 0)
	if err == nil && n > maxBytes {
		err = fmt.Errorf("%w: encoded value of %d bytes exceeds MaxValueBytes (%d)", ErrInvalidValue, n, maxBytes)
	}
	return err
}

func checkRunKey(run RunID, key string) error {
	if err := checkRun(run); err != nil {
		return err
	}
	return checkKey(key)
}

func checkRunKeys(run RunID, keys []string) error {
	if err := checkRun(run); err != nil {
		return err
	}
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return err
		}
	}
	return nil
}

// checkPrefix: "" lists everything; any other prefix obeys the key rules.
func checkPrefix(run RunID, prefix string) error {
	if err := checkRun(run); err != nil {
		return err
	}
	if prefix == "" {
		return nil
	}
	return checkKey(prefix)
}

// encodeValue validates v and returns its encoding, appended to dst.
func (db *DB) encodeValue(dst []byte, v Value) ([]byte, error) {
	b, err := appendValue(dst, v, 0)
	if err != nil {
		return nil, err
	}
	if n := len(b) - len(dst); n > db.opts.MaxValueBytes {
		return nil, fmt.Errorf("%w: encoded value of %d bytes exceeds MaxValueBytes (%d)", ErrInvalidValue, n, db.opts.MaxValueBytes)
	}
	return b, nil
}

// encodeScratch holds buffers for values encoded only to be copied into a
// commit's entries.
var encodeScratch = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledScratch is the largest encoding buffer kept for reuse.
const maxPooledScratch = 1 << 20

// checkValue returns the error addValue would return for v, adding
// nothing and encoding nothing.
func (db *DB) checkValue(v Value) error { return CheckValue(v, db.opts.MaxValueBytes) }

// addValue encodes v and adds it to r as a put of key, using a pooled
// buffer for the encoding (r copies it).
func (db *DB) addValue(r *commitReq, run RunID, key string, v Value) error {
	buf := encodeScratch.Get().(*[]byte)
	enc, err := db.encodeValue((*buf)[:0], v)
	if err == nil {
		r.add(segment.OpPut, string(run), key, enc)
		*buf = enc[:0]
	}
	if cap(*buf) <= maxPooledScratch {
		encodeScratch.Put(buf)
	}
	return err
}
