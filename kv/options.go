package kv

import (
	"fmt"
	"log/slog"
	"time"
)

// Durability says when a commit is acknowledged and what it survives.
type Durability int

const (
	// Buffered is the default. A commit returns once its bytes are
	// written to the OS (write(2) done): it survives a process crash
	// (kill -9). A background fsync every SyncInterval bounds what a power
	// failure can lose.
	Buffered Durability = iota
	// Strict returns from a commit only after fsync: it survives power
	// loss. Concurrent commits share fsyncs (group commit).
	Strict
	// InMemory touches no disk; Open's dir must be "". Semantics are
	// otherwise the same, and everything is gone at Close.
	InMemory
)

// String returns the mode's name.
func (d Durability) String() string {
	switch d {
	case Buffered:
		return "buffered"
	case Strict:
		return "strict"
	case InMemory:
		return "in-memory"
	}
	return fmt.Sprintf("durability(%d)", int(d))
}

// Defaults applied to zero Options fields.
const (
	DefaultSyncInterval  = 100 * time.Millisecond
	DefaultSegmentSize   = 64 << 20
	DefaultMaxValueBytes = 16 << 20
	DefaultCompactAt     = 0.5
	// maxMaxValueBytes is the largest MaxValueBytes accepted.
	maxMaxValueBytes = 1 << 30
	// MaxSegmentSize is the largest SegmentSize accepted: the index
	// addresses values at offsets below 4 GiB, which a segment of this
	// size cannot pass even with its last commit at the largest (under
	// 2 GiB).
	MaxSegmentSize = 1 << 30
)

// Options configure Open. The zero value (or a nil *Options) gives the
// defaults: Buffered, 100ms background sync, 64 MiB segments, 16 MiB
// values, all history kept, logging to slog.Default(), strict recovery,
// no waiting for a locked directory.
type Options struct {
	Durability    Durability
	SyncInterval  time.Duration // Buffered: background fsync period. 0 = default (100ms)
	SegmentSize   int64         // bytes per segment file before it is sealed. 0 = default (64 MiB)
	MaxValueBytes int           // largest encoded value accepted. 0 = default (16 MiB), at most 1 GiB
	// Retention says which old versions compaction may drop. The zero
	// value keeps everything. Versions outside it stay readable until
	// compaction has run (in the background, or DB.Compact).
	Retention Retention
	// CompactAt: background compaction rewrites sealed segments once this
	// fraction of their bytes is dead (outside Retention). 0 = default
	// (0.5); negative = no background compaction (nor the merging of
	// small segments, see DB.Compact); at most 1.
	CompactAt float64
	ReadOnly  bool // open without writing: writes return ErrReadOnly
	// Logger receives what Open repairs (a torn tail cut, a salvage),
	// write failures and debug detail. nil = slog.Default().
	Logger *slog.Logger
	// Recovery says what Open does with damage other than a torn tail:
	// fail (RecoverStrict, the default) or open the intact versions
	// (RecoverSalvage).
	Recovery RecoveryMode
	// TrustHints makes Open index a sealed segment from its hint file (a
	// checksummed list of its keys, versions and value offsets, written
	// when the segment is sealed) without reading the segment at all.
	// By default Open still verifies every frame of every segment against
	// its checksum (in parallel with reading the hints), so damage to
	// committed bytes fails Open with ErrCorrupt; with TrustHints, Open
	// reads no value bytes, and damage to a hinted segment shows only
	// when a read decodes a damaged value or `strata-inspect verify`
	// checks the directory.
	TrustHints bool
	// LockTimeout is how long Open waits for a directory locked by another
	// DB before it fails with ErrLocked. 0 = fail at once.
	LockTimeout time.Duration
	// NoHugePageRecache leaves the segments this process writes in the
	// page cache as they were written. By default (on Linux, where the
	// file system gives them) each segment sealed, and each compaction's
	// output, is read back into the cache in 2 MiB pages by the
	// background goroutine, so that a read of a value misses the TLB less
	// (random Gets over 1M keys about 18% faster here): the price is one
	// more sequential read of every segment from the disk. Set it where
	// that read costs more than it buys (a slow or metered disk, a
	// database read rarely).
	NoHugePageRecache bool
}

// Retention says which old versions compaction may drop. A zero field
// sets no rule; with both zero everything is kept, with both set a
// version is kept if either rule keeps it. The newest version of a key
// is always kept, but for a tombstone: once every older version of a
// deleted key is dropped (and, with KeepFor, once the deletion is older
// than the window) the key vanishes, its tombstone with it.
type Retention struct {
	// KeepVersions keeps at most this many newest versions per key
	// (0 = unlimited).
	KeepVersions int
	// KeepFor keeps what reads at any version committed within this
	// window need: those versions and the one current at the window's
	// start (0 = forever).
	KeepFor time.Duration
}

func (o *Options) normalize() (Options, error) {
	var n Options
	if o != nil {
		n = *o
	}
	switch {
	case n.Durability < Buffered || n.Durability > InMemory:
		return n, fmt.Errorf("strata: unknown durability %d", int(n.Durability))
	case n.SyncInterval < 0:
		return n, fmt.Errorf("strata: negative SyncInterval %v", n.SyncInterval)
	case n.SegmentSize < 0 || n.SegmentSize > MaxSegmentSize:
		return n, fmt.Errorf("strata: SegmentSize %d outside 0..%d", n.SegmentSize, int64(MaxSegmentSize))
	case n.MaxValueBytes < 0 || n.MaxValueBytes > maxMaxValueBytes:
		return n, fmt.Errorf("strata: MaxValueBytes %d outside 0..%d", n.MaxValueBytes, maxMaxValueBytes)
	case n.Retention.KeepVersions < 0 || n.Retention.KeepFor < 0:
		return n, fmt.Errorf("strata: negative Retention %+v", n.Retention)
	case n.Recovery != RecoverStrict && n.Recovery != RecoverSalvage:
		return n, fmt.Errorf("strata: unknown recovery mode %d", int(n.Recovery))
	case n.LockTimeout < 0:
		return n, fmt.Errorf("strata: negative LockTimeout %v", n.LockTimeout)
	case n.CompactAt > 1 || n.CompactAt != n.CompactAt:
		return n, fmt.Errorf("strata: CompactAt %v above 1", n.CompactAt)
	}
	if n.CompactAt == 0 {
		n.CompactAt = DefaultCompactAt
	}
	if n.SyncInterval == 0 {
		n.SyncInterval = DefaultSyncInterval
	}
	if n.SegmentSize == 0 {
		n.SegmentSize = DefaultSegmentSize
	}
	if n.MaxValueBytes == 0 {
		n.MaxValueBytes = DefaultMaxValueBytes
	}
	if n.Logger == nil {
		n.Logger = slog.Default()
	}
	return n, nil
}
