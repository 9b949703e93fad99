package replica

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strata-kv/strata/kv"
)

// Put writes a key on the leader's log; it returns the commit's version.
func (n *Node) Put(run kv.RunID, key string, v kv.Value) (kv.Version, error) {
	res, err := n.submit(&command{Op: opPut, Run: run, Key: key, Value: v})
	return res.Version, err
}

// MPut writes several keys of a run in one commit.
func (n *Node) MPut(run kv.RunID, entries []kv.KeyValue) (kv.Version, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	res, err := n.submit(&command{Op: opMPut, Run: run, Entries: entries})
	return res.Version, err
}

// Delete deletes a key and reports whether it was live.
func (n *Node) Delete(run kv.RunID, key string) (bool, error) {
	res, err := n.submit(&command{Op: opDelete, Run: run, Key: key})
	return res.OK, err
}

// MDelete deletes keys of a run in one commit and returns how many
// distinct keys were live.
func (n *Node) MDelete(run kv.RunID, keys []string) (int, error) {
	res, err := n.submit(&command{Op: opMDelete, Run: run, Keys: keys})
	return int(res.N), err
}

// Incr adds delta to an Int key (absent: 0) and returns the new value.
func (n *Node) Incr(run kv.RunID, key string, delta int64) (int64, error) {
	res, err := n.submit(&command{Op: opIncr, Run: run, Key: key, Delta: delta})
	return res.N, err
}

// CompareAndSwapVersion writes v if the key's version is expected (0:
// only if absent); false on a mismatch.
func (n *Node) CompareAndSwapVersion(run kv.RunID, key string, expected kv.Version, v kv.Value) (bool, error) {
	res, err := n.submit(&command{Op: opCASVer, Run: run, Key: key, Expected: expected, Value: v})
	return res.OK, err
}

// CompareAndSwapValue writes v if the key's value equals expected (nil:
// only if absent); false on a mismatch.
func (n *Node) CompareAndSwapValue(run kv.RunID, key string, expected *kv.Value, v kv.Value) (bool, error) {
	c := &command{Op: opCASValue, Run: run, Key: key, ExpectAbsent: expected == nil, Value: v}
	if expected != nil {
		c.ExpectedValue = *expected
	}
	res, err := n.submit(c)
	return res.OK, err
}

// SetMember records, through the log, the HTTP address of the node id
// ("" once it left), so that every node can forward to the leader.
func (n *Node) SetMember(id, httpAddr string) error {
	_, err := n.submit(&command{Op: opMember, Key: id, Value: kv.String(httpAddr)})
	return err
}

// MemberAddr returns the HTTP address recorded for node id, as this node
// has applied it.
func (n *Node) MemberAddr(id string) (string, bool) {
	if id == "" {
		return "", false
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	m, ok, err := n.db.Meta(memberMeta + id)
	if err != nil || !ok {
		return "", false
	}
	addr, _ := m.Value.AsString()
	return addr, addr != ""
}

// ReadOptions choose how a read is served.
type ReadOptions struct {
	// Stale lets any node answer at once from what it has applied (it
	// may lag the leader). Without it, a read is linearizable: only the
	// leader answers, after confirming it leads and applying everything
	// committed before the read began.
	Stale bool
}

// barrierCall is one raft barrier that linearizable reads share.
type barrierCall struct {
	done chan struct{}
	err  error
}

// linearize returns once the node, still the leader, has applied
// everything committed before the call: it waits for a raft barrier that
// began after the call (one barrier serves every read that arrived
// while the one before it ran). A barrier is a log entry: it commits
// only with a quorum behind this node as leader, and returns once the
// entries before it are applied.
func (n *Node) linearize() error {
	if err := n.failure(); err != nil {
		return err
	}
	if !n.IsLeader() {
		return n.notLeader()
	}
	n.bmu.Lock()
	if n.next == nil {
		n.next = &barrierCall{done: make(chan struct{})}
	}
	c := n.next
	if !n.running {
		n.startBarrier()
	}
	n.bmu.Unlock()
	<-c.done
	return c.err
}

// startBarrier starts the pending barrier. n.bmu is held.
func (n *Node) startBarrier() {
	c := n.next
	n.next, n.running = nil, true
	go func() {
		err := n.wait(n.raft.Barrier(n.cfg.Timeout))
		if errors.Is(err, ErrUnknownOutcome) {
			err = n.notLeader() // not confirmed as the leader: no answer
		}
		c.err = err
		close(c.done)
		n.bmu.Lock()
		n.running = false
		if n.next != nil {
			n.startBarrier()
		}
		n.bmu.Unlock()
	}()
}

// read runs fn on the database as ro says.
func (n *Node) read(ro ReadOptions, fn func(db *kv.DB) error) error {
	if !ro.Stale {
		if err := n.linearize(); err != nil {
			return err
		}
	} else if err := n.failure(); err != nil {
		return err
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return fn(n.db)
}

// Get reads the newest version of a key.
func (n *Node) Get(run kv.RunID, key string, ro ReadOptions) (v kv.Versioned, ok bool, err error) {
	err = n.read(ro, func(db *kv.DB) error {
		v, ok, err = db.Get(run, key)
		return err
	})
	return v, ok, err
}

// GetAt reads a key as of a version. A version names the same state on
// every node, so a stale GetAt on a node that has not yet applied at
// waits for it (at most the node's Timeout, then ErrNotApplied) rather
// than answer from an older state.
func (n *Node) GetAt(run kv.RunID, key string, at kv.Version, ro ReadOptions) (v kv.Versioned, err error) {
	if ro.Stale {
		if err := n.waitApplied(at); err != nil {
			return v, err
		}
	}
	err = n.read(ro, func(db *kv.DB) error {
		v, err = db.GetAt(run, key, at)
		return err
	})
	return v, err
}

// waitApplied returns once the node has applied version v, or fails
// after the node's Timeout with ErrNotApplied.
func (n *Node) waitApplied(v kv.Version) error {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
	defer cancel()
	for {
		db := n.database()
		err := db.WaitFor(ctx, v)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, kv.ErrClosed) && ctx.Err() == nil && n.failure() == nil:
			select { // a snapshot swapped the database: wait on the new one
			case <-n.closing:
				return err
			case <-time.After(10 * time.Millisecond):
			}
		default:
			if ctx.Err() != nil {
				return fmt.Errorf("%w: version %d, after %v", ErrNotApplied, v, n.cfg.Timeout)
			}
			return fmt.Errorf("replica: waiting for version %d: %w", v, err)
		}
	}
}

// History reads a key's versions, newest first (see kv.DB.History).
func (n *Node) History(run kv.RunID, key string, limit int, before kv.Version, ro ReadOptions) (h []kv.Versioned, err error) {
	err = n.read(ro, func(db *kv.DB) error {
		h, err = db.History(run, key, limit, before)
		return err
	})
	return h, err
}

// Scan pages through a run's live keys (see kv.DB.Scan).
func (n *Node) Scan(run kv.RunID, prefix string, limit int, cursor string, ro ReadOptions) (p kv.Page, err error) {
	err = n.read(ro, func(db *kv.DB) error {
		p, err = db.Scan(run, prefix, limit, cursor)
		return err
	})
	return p, err
}

// Changes lists what was committed to a run after a version (see
// kv.DB.Changes).
func (n *Node) Changes(run kv.RunID, prefix string, after kv.Version, limit int, ro ReadOptions) (cs []kv.Change, err error) {
	err = n.read(ro, func(db *kv.DB) error {
		cs, err = db.Changes(run, prefix, after, limit)
		return err
	})
	return cs, err
}

// LastVersion returns the newest version the node has applied (with
// Stale; else the leader's, linearizably).
func (n *Node) LastVersion(ro ReadOptions) (v kv.Version, err error) {
	err = n.read(ro, func(db *kv.DB) error {
		v = db.LastVersion()
		return nil
	})
	return v, err
}

// Txn is a transaction of Node.Update: its reads see the leader's
// database at one version; its writes are buffered and go to the log as
// one command with what it read, which every node validates (the keys it
// read are at the versions it saw, the prefixes it listed hold the same
// keys) before it writes them.
type Txn struct {
	tx     *kv.Txn
	reads  map[readKey]bool
	lists  []listed
	writes []txnWrite
	index  map[readKey]int // (run, key) -> its write
}

// Get reads a key in the transaction (its own writes first).
func (t *Txn) Get(run kv.RunID, key string) (kv.Versioned, bool, error) {
	if i, ok := t.index[readKey{Run: run, Key: key}]; ok {
		w := t.writes[i]
		if w.Deleted {
			return kv.Versioned{}, false, nil
		}
		return kv.Versioned{Value: w.Value}, true, nil
	}
	v, ok, err := t.tx.Get(run, key)
	if err != nil {
		return v, ok, err
	}
	r := readKey{Run: run, Key: key}
	if ok {
		r.Version = v.Version
	}
	t.reads[r] = true
	return v, ok, nil
}

// Keys lists the live keys of run under prefix, as the snapshot has them
// (the transaction's own writes are not listed).
func (t *Txn) Keys(run kv.RunID, prefix string) ([]string, error) {
	seen, err := liveUnder(t.tx, run, prefix)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(seen))
	for i, r := range seen {
		keys[i] = r.Key
	}
	t.lists = append(t.lists, listed{Run: run, Prefix: prefix, Keys: seen})
	return keys, nil
}

// Put buffers a write.
func (t *Txn) Put(run kv.RunID, key string, v kv.Value) error {
	t.write(txnWrite{Run: run, Key: key, Value: v})
	return nil
}

// Delete buffers a deletion (applied only if the key is live when the
// transaction commits).
func (t *Txn) Delete(run kv.RunID, key string) error {
	t.write(txnWrite{Run: run, Key: key, Deleted: true})
	return nil
}

func (t *Txn) write(w txnWrite) {
	k := readKey{Run: w.Run, Key: w.Key}
	if i, ok := t.index[k]; ok {
		t.writes[i] = w
		return
	}
	t.index[k] = len(t.writes)
	t.writes = append(t.writes, w)
}

// Update runs fn on the leader against one snapshot and commits its
// writes through the log, serializably: if a key it read or a prefix it
// listed changed before its command applies, nothing is written and the
// error wraps kv.ErrConflict. fn runs once; with no writes, Update
// returns (0, nil).
func (n *Node) Update(fn func(tx *Txn) error) (kv.Version, error) {
	if fn == nil {
		return 0, errors.New("replica: Update with a nil function")
	}
	t := &Txn{reads: map[readKey]bool{}, index: map[readKey]int{}}
	err := n.read(ReadOptions{}, func(db *kv.DB) error {
		return db.View(func(tx *kv.Txn) error {
			t.tx = tx
			return fn(t)
		})
	})
	if err != nil {
		return 0, err
	}
	if len(t.writes) == 0 {
		return 0, nil
	}
	c := &command{Op: opUpdate, Lists: t.lists, Writes: t.writes}
	for r := range t.reads {
		c.Reads = append(c.Reads, r)
	}
	res, err := n.submit(c)
	return res.Version, err
}
