package kv

import (
	"fmt"
	"strings"

	"github.com/strata-kv/strata/segment"
)

// RecoveryMode says what Open does with damage other than a torn tail.
type RecoveryMode int

const (
	// RecoverStrict is the default: damage that is not a torn tail (bytes
	// that had been fsynced, a bad header, a missing segment) makes Open
	// fail with an error wrapping ErrCorrupt.
	RecoverStrict RecoveryMode = iota
	// RecoverSalvage opens at the newest version V such that every commit
	// up to V is intact. Every segment file holding the damage or anything
	// above V is renamed aside to "<name>.damaged-<unix seconds>" (never
	// deleted) and the intact frames before the damage are kept under the
	// segment's own name, so the directory then holds exactly versions
	// 1..V and new commits continue from V+1 (a compacted segment's
	// intact frames too: the manifest then lists it as ending at V; and
	// of a segment whose size differs from the manifest's, the frames
	// both count). A segment the manifest lists or names as the active
	// one but whose file is gone is damage the same way: V is the
	// version before it. A damaged MANIFEST is renamed
	// aside too and the segments are read as a log, in id order, unless
	// compaction wrote any (they cannot be placed without it: Open then
	// fails with ErrCorrupt and moves nothing). Recovery reports what was
	// done. With ReadOnly nothing is renamed: the DB serves versions 1..V
	// from the files as they are.
	RecoverSalvage
)

// String returns the mode's name.
func (m RecoveryMode) String() string {
	switch m {
	case RecoverStrict:
		return "strict"
	case RecoverSalvage:
		return "salvage"
	}
	return fmt.Sprintf("recovery(%d)", int(m))
}

// RecoveryReport says what the last Open did to make the directory
// consistent. The zero value means it found nothing to repair.
type RecoveryReport struct {
	TornFile  string // file whose torn tail Open cut (ignored, if ReadOnly); "" if none
	TornBytes int64  // bytes cut from it
	// UnusedBytes counts the zeros cut from the end of the newest segment
	// after its last frame (and torn bytes): space a writer reserves
	// ahead of its frames, which a crash leaves behind. They held no
	// data; String does not mention them.
	UnusedBytes int64
	// SalvagedAt is, with RecoverSalvage, the version the database opened
	// at because of damage; 0 if nothing was salvaged.
	SalvagedAt Version
	// MovedAside lists, with RecoverSalvage, the files renamed aside.
	MovedAside []string
	// Damage is the corruption that RecoverSalvage opened around (nil if
	// none).
	Damage *CorruptError

	readOnly bool // the torn tail was left in place
}

// String summarises the report in one line, "" when there is nothing to
// report.
func (r RecoveryReport) String() string {
	var s string
	switch {
	case r.TornBytes > 0 && r.readOnly:
		s = fmt.Sprintf("ignored a torn write of %d bytes at the end of %s (the last writes before a crash, never synced; a writable Open cuts them)", r.TornBytes, r.TornFile)
	case r.TornBytes > 0:
		s = fmt.Sprintf("cut a torn write of %d bytes at the end of %s (the last writes before a crash, never synced)", r.TornBytes, r.TornFile)
	}
	if r.Damage != nil {
		if s != "" {
			s += "; "
		}
		s += fmt.Sprintf("salvaged: opened at version %d, the last before the damage (%v)", r.SalvagedAt, r.Damage)
		if len(r.MovedAside) > 0 {
			s += fmt.Sprintf("; moved aside: %s", strings.Join(r.MovedAside, ", "))
		}
	}
	return s
}

// Recovery returns what the last Open did to make the directory
// consistent: a torn tail cut, or with RecoverSalvage the version opened
// at and the files moved aside. It works on a closed DB too.
func (db *DB) Recovery() RecoveryReport {
	r := db.recovery
	r.MovedAside = append([]string(nil), r.MovedAside...)
	return r
}

// CorruptError is what errors.As finds in every error that wraps
// ErrCorrupt: the damaged file, the offset of the damage in it, and what
// is wrong there.
type CorruptError = segment.CorruptError
