package kv

import (
	"crypto/rand"
	"fmt"
	"time"
)

// RunID names a namespace: keys in different runs never interact. A run
// ID is non-empty, at most 256 bytes and holds no NUL byte.
type RunID string

// DefaultRun is the run for programs that need only one.
const DefaultRun RunID = "default"

// NewRunID returns a random UUID v4, lowercase and hyphenated.
func NewRunID() RunID {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return RunID(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

// Version is a commit sequence number: global across the DB, strictly
// increasing, never reused, surviving restarts. 0 is never a committed
// version.
type Version uint64

// Versioned is one version of a key.
type Versioned struct {
	Value     Value
	Version   Version
	Timestamp time.Time // commit time, UTC, microsecond precision; non-decreasing in Version order
	Deleted   bool      // a tombstone (Value is Null); only History returns these
}

// KeyValue is a key and a value, for MPut.
type KeyValue struct {
	Key   string
	Value Value
}

// Entry is a key with one of its versions, as Scan returns them.
type Entry struct {
	Key string
	Versioned
}

// Page is one page of a Scan.
type Page struct {
	Entries []Entry
	Cursor  string // "" when there are no more entries
}
