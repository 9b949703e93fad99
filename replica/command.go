package replica

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"math"

	"github.com/strata-kv/strata/kv"
)

// Command kinds.
const (
	opPut       = "put"
	opMPut      = "mput"
	opDelete    = "delete"
	opMDelete   = "mdelete"
	opIncr      = "incr"
	opCASVer    = "cas-version"
	opCASValue  = "cas-value"
	opUpdate    = "update"
	opMember    = "member" // Key: a node's ID; Value: its HTTP address ("": it left)
	memberMeta  = "replica/member/"
	appliedMeta = "replica/applied" // kv metadata: the raft index of the last command that wrote
)

// command is one raft log entry: a write, applied on every node as one
// Strata commit (or none). It is gob: strings go as their bytes (run
// names and keys are checked by kv, not changed on the way) and values in
// kv's own binary encoding, exactly.
type command struct {
	Op      string
	Run     kv.RunID
	Key     string
	Keys    []string
	Value   kv.Value // put's and the CAS calls' (Null is a value)
	Entries []kv.KeyValue
	Delta   int64
	// Expected is CompareAndSwapVersion's version; ExpectedValue is
	// CompareAndSwapValue's value, unless ExpectAbsent (only if absent).
	Expected      kv.Version
	ExpectedValue kv.Value
	ExpectAbsent  bool
	// An Update's reads (each key's version as read, 0: absent), the
	// prefixes it listed (with what it saw there) and its writes.
	Reads  []readKey
	Lists  []listed
	Writes []txnWrite
}

type readKey struct {
	Run     kv.RunID
	Key     string
	Version kv.Version
}

type listed struct {
	Run    kv.RunID
	Prefix string
	Keys   []readKey // the live keys under prefix, with their versions
}

type txnWrite struct {
	Run     kv.RunID
	Key     string
	Value   kv.Value
	Deleted bool
}

// result is what applying a command answered.
type result struct {
	Version kv.Version // of the commit (0: nothing written)
	OK      bool       // Delete's and the CAS calls' answer
	N       int64      // MDelete's count, Incr's new value
	Err     error
}

// apply applies c, the command of raft index index, to db in one commit
// that also records index (see package doc). It is deterministic: it
// reads only replicated state (live keys and their versions, never what
// compaction may have dropped).
func apply(db *kv.DB, index uint64, c *command) result {
	var res result
	v, err := db.Update(func(tx *kv.Txn) error {
		wrote, err := applyTxn(tx, c, &res)
		if err != nil || !wrote {
			return err
		}
		return tx.PutMeta(appliedMeta, kv.Int(int64(index)))
	})
	res.Version, res.Err = v, err
	return res
}

// applyTxn does c's reads and writes in tx and reports whether it wrote.
func applyTxn(tx *kv.Txn, c *command, res *result) (bool, error) {
	switch c.Op {
	case opPut:
		return true, tx.Put(c.Run, c.Key, c.Value)
	case opMPut:
		for _, e := range c.Entries {
			if err := tx.Put(c.Run, e.Key, e.Value); err != nil {
				return false, err
			}
		}
		return len(c.Entries) > 0, nil
	case opDelete:
		ok, err := tx.Delete(c.Run, c.Key)
		res.OK = ok
		return ok, err
	case opMDelete:
		seen := map[string]bool{}
		for _, k := range c.Keys {
			if seen[k] {
				continue
			}
			seen[k] = true
			ok, err := tx.Delete(c.Run, k)
			if err != nil {
				return false, err
			}
			if ok {
				res.N++
			}
		}
		return res.N > 0, nil
	case opIncr:
		cur, ok, err := tx.Get(c.Run, c.Key)
		if err != nil {
			return false, err
		}
		var n int64
		if ok {
			i, isInt := cur.Value.AsInt()
			if !isInt {
				return false, fmt.Errorf("%w: incr of run %s key %s, which holds a %v", kv.ErrWrongType, c.Run, c.Key, cur.Value.Kind())
			}
			n = i
		}
		if (c.Delta > 0 && n > math.MaxInt64-c.Delta) || (c.Delta < 0 && n < math.MinInt64-c.Delta) {
			return false, fmt.Errorf("%w: incr of run %s key %s by %d", kv.ErrOverflow, c.Run, c.Key, c.Delta)
		}
		res.N = n + c.Delta
		return true, tx.Put(c.Run, c.Key, kv.Int(res.N))
	case opCASVer, opCASValue:
		cur, ok, err := tx.Get(c.Run, c.Key)
		if err != nil {
			return false, err
		}
		if c.Op == opCASVer {
			res.OK = (c.Expected == 0 && !ok) || (ok && cur.Version == c.Expected)
		} else {
			res.OK = (c.ExpectAbsent && !ok) || (ok && !c.ExpectAbsent && cur.Value.Equal(c.ExpectedValue))
		}
		if !res.OK {
			return false, nil
		}
		return true, tx.Put(c.Run, c.Key, c.Value)
	case opUpdate:
		return applyUpdate(tx, c)
	case opMember:
		if c.Key == "" {
			return false, fmt.Errorf("%w: member without an ID", kv.ErrInvalidValue)
		}
		return true, tx.PutMeta(memberMeta+c.Key, c.Value)
	}
	return false, fmt.Errorf("replica: unknown command %q", c.Op)
}

// applyUpdate validates what an Update read against the state now (the
// keys it read have the versions it saw, the prefixes it listed hold
// the same live keys at the same versions), then writes its writes: an
// Update commits as if it ran at the command's place in the log.
func applyUpdate(tx *kv.Txn, c *command) (bool, error) {
	for _, r := range c.Reads {
		if err := sameVersion(tx, r); err != nil {
			return false, err
		}
	}
	for _, l := range c.Lists {
		now, err := liveUnder(tx, l.Run, l.Prefix)
		if err != nil {
			return false, err
		}
		if len(now) != len(l.Keys) {
			return false, fmt.Errorf("%w: run %s prefix %q changed: %d live keys, %d read", kv.ErrConflict, l.Run, l.Prefix, len(now), len(l.Keys))
		}
		for i := range now {
			if now[i] != l.Keys[i] {
				return false, fmt.Errorf("%w: run %s prefix %q changed at key %s", kv.ErrConflict, l.Run, l.Prefix, now[i].Key)
			}
		}
	}
	wrote := false
	for _, w := range c.Writes {
		if w.Deleted {
			ok, err := tx.Delete(w.Run, w.Key)
			if err != nil {
				return false, err
			}
			wrote = wrote || ok // a deletion of an absent key writes nothing
			continue
		}
		if err := tx.Put(w.Run, w.Key, w.Value); err != nil {
			return false, err
		}
		wrote = true
	}
	return wrote, nil
}

func sameVersion(tx *kv.Txn, r readKey) error {
	cur, ok, err := tx.Get(r.Run, r.Key)
	if err != nil {
		return err
	}
	var v kv.Version
	if ok {
		v = cur.Version
	}
	if v != r.Version {
		return fmt.Errorf("%w: run %s key %s is at version %d, read at %d", kv.ErrConflict, r.Run, r.Key, v, r.Version)
	}
	return nil
}

// liveUnder lists the live keys of run under prefix with their versions.
func liveUnder(tx *kv.Txn, run kv.RunID, prefix string) ([]readKey, error) {
	var out []readKey
	cursor := ""
	for {
		p, err := tx.Scan(run, prefix, 1000, cursor)
		if err != nil {
			return nil, err
		}
		for _, e := range p.Entries {
			out = append(out, readKey{Run: run, Key: e.Key, Version: e.Version})
		}
		if p.Cursor == "" {
			return out, nil
		}
		cursor = p.Cursor
	}
}

// encodeCommand encodes c for the log.
func encodeCommand(c *command) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(c); err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	return b.Bytes(), nil
}

// decodeCommand decodes a log entry's data.
func decodeCommand(data []byte) (*command, error) {
	var c command
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&c); err != nil {
		return nil, fmt.Errorf("replica: a log entry that is no command: %w", err)
	}
	return &c, nil
}

// storageFailure reports whether err, returned by applying a command,
// means the database failed (a disk error, a closed database) rather
// than that the command was refused, the same way on every node.
func storageFailure(err error) bool {
	if err == nil {
		return false
	}
	for _, refused := range []error{kv.ErrInvalidKey, kv.ErrInvalidRun, kv.ErrInvalidValue, kv.ErrWrongType, kv.ErrOverflow, kv.ErrConflict, kv.ErrNotFound} {
		if errors.Is(err, refused) {
			return false
		}
	}
	return true
}
