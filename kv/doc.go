// Package kv is Strata's public API: an embeddable, versioned key-value
// store. Every write creates a new version; old versions stay readable
// through GetAt, History and ViewAt.
//
// Open a data directory, write and read:
//
//	db, err := kv.Open("./data", nil) // Buffered durability
//	v, err := db.Put(kv.DefaultRun, "key", kv.String("value"))
//	got, ok, err := db.Get(kv.DefaultRun, "key")
//
// Keys live in runs (namespaces). Values are typed (Null, Bool, Int,
// Float, String, Bytes, Array, Object) and round-trip exactly. Every
// commit gets a Version, global across the database and strictly
// increasing; a batch (MPut, MDelete) or an Update transaction commits
// all its writes under one version, atomically.
//
// # Durability
//
// Buffered (the default) acknowledges a commit once its bytes are written
// to the OS, so it survives the process being killed; a background fsync
// bounds what a power failure can lose. Strict acknowledges only after
// fsync, with concurrent commits sharing fsyncs. InMemory keeps nothing on
// disk. After any write or fsync error the DB accepts no more writes (the
// data it could not persist may already be gone from the page cache);
// reopen it.
//
// # Crashes and damage
//
// Open recovers every commit the durability mode promised. A torn tail
// (bytes of the last writes before a crash that were never fsynced,
// whatever shape the crash left them in) is cut, logged and described by
// DB.Recovery. Any other damage fails Open with an error wrapping
// ErrCorrupt, for which errors.As finds a *CorruptError naming the file
// and offset, unless Options.Recovery is RecoverSalvage, which opens the
// intact versions and moves the rest aside. No value a user stores can
// change these verdicts.
//
// # Concurrency
//
// All methods of *DB are safe for concurrent use. Reads never block
// writes and are never blocked by them: each read sees a snapshot. Update
// transactions are optimistic and serializable; a conflict returns
// ErrConflict and writes nothing.
//
// # Retention and compaction
//
// Options.Retention says which old versions may go (by count, by age, or
// none: the default keeps every version). Compaction drops them and gives
// their space back: in the background once a segment's droppable share
// reaches Options.CompactAt, or at once with DB.Compact. GetAt, ViewAt,
// Diff and Changes at a version that went return ErrHistoryTrimmed, never
// a wrong answer; History lists the versions left. Retention or not, runs
// of 16 or more small segments in a row (every writable Open starts one)
// are merged, in the background and by DB.Compact; a merge drops
// nothing.
package kv
