// Package replica runs Strata replicated on hashicorp/raft, for users who
// outgrow one machine: the data survives the loss of a machine, and reads
// spread over several. It is its own Go module, so the engine never
// depends on raft.
//
// # Design
//
// A Node runs one Strata database (package kv) as raft's finite state
// machine. Every write (Put, MPut, Delete, MDelete, Incr, the two CAS
// calls, an Update's write set with what it read) is one raft log entry,
// a command, applied on every node as one Strata commit. Commands are
// deterministic: each node applies the same commands in the same order
// to the same state, so each writes the same commits and gives them the
// same versions (a Version names the same state on every node; commit
// timestamps are each node's own). A command that writes nothing (a CAS
// that does not match, a Delete of an absent key, an invalid key) commits
// nothing anywhere.
//
// Idempotence: a command's commit also writes, as Strata metadata
// (kv.DB.Meta), the raft index of the command. After a restart raft
// replays its log from its last snapshot; commands at or below the index
// the database holds are skipped, the others applied again (those that
// wrote nothing find the same state and write nothing again).
//
// Snapshots are Strata checkpoints (kv.DB.Checkpoint: hard links and a
// copy of the active segment's prefix), streamed as a tar archive behind
// a one-line header. A follower too far behind the leader's log gets
// one: it unpacks it beside its database, swaps it in and reopens. On
// start, a node restores its latest snapshot only if its database is
// older than the snapshot (a power loss took commits a Buffered database
// had not synced, and the log no longer holds them).
//
// Reads are linearizable by default: the leader commits a raft Barrier
// (a log entry, which only a leader a majority still follows can
// commit, and which returns once everything before it is applied),
// begun after the read arrived, and then reads its database; reads that
// arrive while one barrier runs share the next. With ReadOptions.Stale any node
// answers at once from what it has applied.
//
// Writes and linearizable reads on a follower fail with a
// *NotLeaderError that names the leader (the server forwards them). A
// write whose answer never comes (leadership or the node went while it
// waited) fails with ErrUnknownOutcome: it may or may not be applied.
//
// Commands are gob: run names and keys travel as their bytes and values
// in kv's binary encoding, so a node applies exactly what the client
// gave. Invalid input is refused before it reaches the log
// (kv.DB.CheckWrite). Raft connections start with a handshake in which
// the dialing node proves it knows the cluster's secret (Config.Secret).
//
// The raft log and stable store are hashicorp/raft-boltdb/v2: one bbolt
// file, fsynced per batch of entries.
package replica
