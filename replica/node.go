package replica

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
)

// A node's directory.
const (
	dbDir          = "strata"         // the database
	stagedDir      = "strata.restore" // a snapshot being swapped in
	oldDir         = "strata.old"     // the database a snapshot replaces
	failedDir      = "strata.failed"  // a snapshot's database that did not open
	snapshotPrefix = "snapshot-"      // + a random suffix: a checkpoint taken for a snapshot
	raftDir        = "raft"           // raft's log (raft.db) and snapshots
)

// Config configures a Node.
type Config struct {
	// ID names the node in the cluster (unique, stable across restarts).
	ID string
	// Dir is the node's directory: its database, raft's log and
	// snapshots.
	Dir string
	// RaftAddr is the address raft listens on ("127.0.0.1:0" picks a
	// port); RaftAdvertise, if set, is the address other nodes reach it
	// at (default: the listener's).
	RaftAddr, RaftAdvertise string
	// Bootstrap starts a new cluster with this node as its only voter,
	// if the node has no raft state yet; the others Join it.
	Bootstrap bool
	// KV are the database's options (nil: defaults, Buffered).
	KV *kv.Options
	// RaftTLS, if set, is used both ways for raft traffic between nodes:
	// set Certificates, RootCAs and ClientCAs with ClientAuth
	// tls.RequireAndVerifyClientCert so that each side checks the
	// other's certificate.
	RaftTLS *tls.Config
	// Secret is the cluster's shared secret: every node must have the
	// same. A node proves it knows it (an HMAC of a random challenge)
	// on every raft connection it opens, so that nobody else can talk
	// raft to the cluster, with or without TLS. strata-server uses its
	// bearer token. "" is a secret too (anyone who knows the protocol
	// passes): set one unless the network is trusted.
	Secret string
	// Timeout bounds a write's wait for raft and a read's wait for the
	// leader's confirmation (0: 10s).
	Timeout time.Duration
	// Logger receives raft's and the node's messages (nil: discard).
	Logger *slog.Logger
	// Tune, if set, adjusts raft's configuration before the node starts
	// (tests shorten its timeouts).
	Tune func(*raft.Config)
	// Partition, if set, can cut this node's raft traffic (tests).
	Partition *Partition
}

// Node is one member of a replicated Strata cluster. Its methods are safe
// for concurrent use.
type Node struct {
	cfg   Config
	log   *slog.Logger
	raft  *raft.Raft
	fsm   *fsm
	store *raftboltdb.BoltStore
	layer *streamLayer
	trans *raft.NetworkTransport

	mu sync.RWMutex // readers hold it shared; a snapshot's swap exclusively
	db *kv.DB

	bmu     sync.Mutex // the barrier that linearizable reads wait for
	next    *barrierCall
	running bool

	failMu sync.Mutex
	failed error

	closeOnce sync.Once
	closeErr  error
	stopOnce  sync.Once
	stopped   raft.Future   // raft's shutdown
	closing   chan struct{} // closed when Close begins
	lock      io.Closer     // the node directory's lock

	restores atomic.Int64 // snapshots restored (tests)
}

// NotLeaderError is the error of a write, or of a linearizable read, on a
// node that is not the leader. It names the leader, if one is known.
type NotLeaderError struct {
	LeaderID, LeaderAddr string // raft's ID and address of the leader ("" if unknown)
}

// Error says that this node does not lead, and who does.
func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" {
		return "replica: not the leader, and no leader is known"
	}
	return fmt.Sprintf("replica: not the leader; the leader is %s at %s", e.LeaderID, e.LeaderAddr)
}

// Is makes errors.Is(err, ErrNotLeader) hold.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

// Errors of a Node.
var (
	// ErrNotLeader: see NotLeaderError.
	ErrNotLeader = errors.New("replica: not the leader")
	// ErrUnknownOutcome: the write was submitted but leadership was lost
	// before it was known to be committed: it may or may not be applied.
	ErrUnknownOutcome = errors.New("replica: outcome unknown (leadership lost)")
	// ErrNodeFailed: the node's database failed while applying the log;
	// the node stopped (see the wrapped error).
	ErrNodeFailed = errors.New("replica: node failed")
	// ErrNotApplied: a stale GetAt named a version this node had not
	// applied within its Timeout (it lags, or no node has that version).
	ErrNotApplied = errors.New("replica: version not applied here yet")
	// ErrAddressInUse: a Join named the raft address of another member.
	ErrAddressInUse = errors.New("replica: raft address in use by another member")
)

func (n *Node) path(name string) string { return filepath.Join(n.cfg.Dir, name) }

// Open starts a node: it opens its database and raft's state in
// cfg.Dir and joins the cluster raft remembers (or bootstraps one, see
// Config.Bootstrap). A node that is new to a cluster is added by the
// leader's Join.
func Open(cfg Config) (*Node, error) {
	if cfg.Dir == "" || !validID(cfg.ID) {
		return nil, fmt.Errorf("replica: Config needs a Dir and an ID of 1 to 64 letters, digits, '.', '_' or '-' (got %q)", cfg.ID)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, log: log.With("node", cfg.ID), closing: make(chan struct{})}
	if err := os.MkdirAll(n.path(raftDir), 0o755); err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	// One process per node directory: settleDirs moves directories.
	lock, err := vfs.Default.Lock(n.path("NODE.LOCK"), false, 0)
	if errors.Is(err, vfs.ErrLocked) {
		return nil, fmt.Errorf("%w: replica: node directory %s: %v", kv.ErrLocked, cfg.Dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("replica: node directory %s: %w", cfg.Dir, err)
	}
	n.lock = lock
	if err := n.settleDirs(); err != nil {
		lock.Close()
		return nil, err
	}
	db, applied, err := n.openDB()
	if err != nil {
		lock.Close()
		return nil, err
	}
	n.db = db
	n.fsm = &fsm{n: n, dbApplied: applied}
	if err := n.startRaft(); err != nil {
		n.closeParts()
		return nil, err
	}
	return n, nil
}

// settleDirs finishes or undoes a snapshot's swap a crash interrupted.
func (n *Node) settleDirs() error {
	exists := func(name string) bool { _, err := os.Stat(n.path(name)); return err == nil }
	if !exists(dbDir) && exists(oldDir) {
		if exists(stagedDir) {
			// Crashed between swapIn's two renames: the staged copy is
			// whole (it was synced before the first).
			if err := os.Rename(n.path(stagedDir), n.path(dbDir)); err != nil {
				return fmt.Errorf("replica: finishing a snapshot's swap: %w", err)
			}
		} else if err := os.Rename(n.path(oldDir), n.path(dbDir)); err != nil {
			// Crashed in putBack, between its two renames.
			return fmt.Errorf("replica: undoing a snapshot's swap: %w", err)
		}
	}
	// A snapshot's checkpoint ("snapshot-*", made by fsm.Snapshot) is
	// removed by its Release; one a crash left behind holds hard links to
	// segments, which would never be reclaimed. No other process uses
	// them: Open holds the node's lock.
	snaps, err := filepath.Glob(n.path(snapshotPrefix + "*"))
	if err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	// So is a raft snapshot a crash cut short (raft/snapshots/*.tmp, a
	// partial tar of the database): raft's store skips it, and never
	// removes it (review 56).
	partial, err := filepath.Glob(filepath.Join(n.path(raftDir), "snapshots", "*.tmp"))
	if err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	snaps = append(snaps, partial...)
	for _, name := range append([]string{n.path(oldDir), n.path(stagedDir), n.path(failedDir)}, snaps...) {
		if err := os.RemoveAll(name); err != nil {
			return fmt.Errorf("replica: %w", err)
		}
	}
	return nil
}

// openKV opens a node's database: kv.Open, but for tests that make an
// open fail (a snapshot's database that does not open on a running node).
// Set only before any node starts.
var openKV = kv.Open

// openDB opens the database and reads the raft index it holds.
func (n *Node) openDB() (*kv.DB, uint64, error) {
	db, err := openKV(n.path(dbDir), n.cfg.KV)
	if err != nil {
		return nil, 0, fmt.Errorf("replica: %w", err)
	}
	m, ok, err := db.Meta(appliedMeta)
	if err != nil {
		db.Close()
		return nil, 0, fmt.Errorf("replica: %w", err)
	}
	var applied int64
	if ok {
		applied, _ = m.Value.AsInt()
	}
	return db, uint64(applied), nil
}

func (n *Node) startRaft() error {
	cfg := n.cfg
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft." + cfg.ID, Level: hclog.Warn, Output: slogWriter{n.log}})
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = hlog
	if cfg.Tune != nil {
		cfg.Tune(rc)
	}
	store, err := raftboltdb.NewBoltStore(filepath.Join(n.path(raftDir), "raft.db"))
	if err != nil {
		return fmt.Errorf("replica: raft log: %w", err)
	}
	n.store = store
	snaps, err := raft.NewFileSnapshotStoreWithLogger(n.path(raftDir), 2, hlog)
	if err != nil {
		return fmt.Errorf("replica: raft snapshots: %w", err)
	}
	// Raft restores its latest snapshot on start only if the database
	// is older than it (see package doc).
	rc.NoSnapshotRestoreOnStart = true
	if metas, err := snaps.List(); err == nil && len(metas) > 0 {
		if _, rd, err := snaps.Open(metas[0].ID); err == nil {
			hd, err := readHeader(rd)
			rd.Close()
			if err != nil || hd.Applied > n.fsm.dbApplied {
				rc.NoSnapshotRestoreOnStart = false
			}
		}
	}
	layer, err := newStreamLayer(cfg.RaftAddr, cfg.RaftTLS, cfg.Secret, cfg.Partition)
	if err != nil {
		return err
	}
	if cfg.RaftAdvertise != "" {
		layer.self = cfg.RaftAdvertise
	}
	n.layer = layer
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog,
		ServerAddressProvider: nil,
	})
	r, err := raft.NewRaft(rc, n.fsm, store, store, snaps, n.trans)
	if err != nil {
		return fmt.Errorf("replica: raft: %w", err)
	}
	// A command applied by raft's goroutines before this line may have
	// failed the node: fail saw no raft to stop, so stop it here.
	n.failMu.Lock()
	n.raft = r
	failed := n.failed
	n.failMu.Unlock()
	if failed != nil {
		n.stopRaft().Error()
		return failed
	}
	if cfg.Bootstrap {
		has, err := raft.HasExistingState(store, store, snaps)
		if err != nil {
			return fmt.Errorf("replica: raft: %w", err)
		}
		if !has {
			boot := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: raft.ServerAddress(layer.self)}}}
			if err := r.BootstrapCluster(boot).Error(); err != nil {
				return fmt.Errorf("replica: bootstrap: %w", err)
			}
		}
	}
	return nil
}

// RaftAddr returns the address other nodes reach this node's raft at.
func (n *Node) RaftAddr() string { return n.layer.self }

// ID returns the node's ID.
func (n *Node) ID() string { return n.cfg.ID }

// Leader returns the ID and raft address of the leader, "" if unknown.
func (n *Node) Leader() (id, addr string) {
	a, i := n.raft.LeaderWithID()
	return string(i), string(a)
}

// IsLeader reports whether this node leads the cluster now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Join adds the node id, whose raft listens at addr, to the cluster as a
// voter. Only the leader can (else a *NotLeaderError). An addr another
// member has is refused with ErrAddressInUse.
func (n *Node) Join(id, addr string) error {
	m, err := n.Members()
	if err != nil {
		return n.raftErr(err)
	}
	for mid, maddr := range m {
		if maddr == addr && mid != id {
			return fmt.Errorf("%w: %s is node %s's", ErrAddressInUse, addr, mid)
		}
	}
	return n.wait(n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, n.cfg.Timeout))
}

// Leave removes the node id from the cluster. Only the leader can.
func (n *Node) Leave(id string) error {
	return n.wait(n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.Timeout))
}

// Members returns the IDs and raft addresses of the cluster's voters.
func (n *Node) Members() (map[string]string, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range f.Configuration().Servers {
		out[string(s.ID)] = string(s.Address)
	}
	return out, nil
}

// Snapshot makes raft take a snapshot now (and trim its log).
func (n *Node) Snapshot() error { return n.raft.Snapshot().Error() }

func (n *Node) notLeader() error {
	id, addr := n.Leader()
	return &NotLeaderError{LeaderID: id, LeaderAddr: addr}
}

// raftErr turns raft's errors into the node's.
func (n *Node) raftErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return n.notLeader()
	case errors.Is(err, raft.ErrLeadershipLost):
		return fmt.Errorf("%w: %v", ErrUnknownOutcome, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		if f := n.failure(); f != nil {
			return f
		}
		return fmt.Errorf("%w: %v", kv.ErrClosed, err)
	}
	return err
}

// submit appends c to the log and waits for its result.
func (n *Node) submit(c *command) (result, error) {
	if err := n.failure(); err != nil {
		return result{}, err
	}
	if err := n.check(c); err != nil {
		return result{}, err // refused before it reaches the log
	}
	data, err := encodeCommand(c)
	if err != nil {
		return result{}, err
	}
	f := n.raft.Apply(data, n.cfg.Timeout)
	if err := n.wait(f); err != nil {
		return result{}, err
	}
	res, ok := f.Response().(*result)
	if !ok {
		return result{}, fmt.Errorf("replica: unexpected apply result %T", f.Response())
	}
	return *res, res.Err
}

// check refuses a command with invalid input (what applying it would
// refuse for it on every node), so that it never takes space in the log.
// It holds the database as reads do, so that a snapshot swapped in
// meanwhile does not close it under the checks (ErrClosed).
func (n *Node) check(c *command) error {
	n.mu.RLock()
	defer n.mu.RUnlock()
	db := n.db
	switch c.Op {
	case opPut, opCASVer, opCASValue:
		return db.CheckWrite(c.Run, c.Key, &c.Value)
	case opMPut:
		for i := range c.Entries {
			if err := db.CheckWrite(c.Run, c.Entries[i].Key, &c.Entries[i].Value); err != nil {
				return err
			}
		}
	case opDelete, opIncr:
		return db.CheckWrite(c.Run, c.Key, nil)
	case opMDelete:
		for _, k := range c.Keys {
			if err := db.CheckWrite(c.Run, k, nil); err != nil {
				return err
			}
		}
	case opUpdate:
		for i, w := range c.Writes {
			v := &c.Writes[i].Value
			if w.Deleted {
				v = nil
			}
			if err := db.CheckWrite(w.Run, w.Key, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// wait waits for a raft future, at most the node's Timeout beyond the
// time raft had to take it, or until the node closes: raft bounds only
// the wait to enqueue a command, and a command queued as leadership or
// the node goes may never be answered. A write whose wait ends so has an
// unknown outcome.
func (n *Node) wait(f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	timer := time.NewTimer(2 * n.cfg.Timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return n.raftErr(err)
		}
		return nil
	case <-timer.C:
		return fmt.Errorf("%w: no answer from raft within %v", ErrUnknownOutcome, 2*n.cfg.Timeout)
	case <-n.closing:
		return fmt.Errorf("%w: the node closed", ErrUnknownOutcome)
	}
}

// database returns the node's database (the FSM's goroutine swaps it).
func (n *Node) database() *kv.DB {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.db
}

// swapIn closes the database, puts the staged snapshot in its place and
// opens it; it returns the raft index the new database holds. The
// replaced database is removed only once the snapshot's opened: if it
// does not open, the old one is put back (and reopened: the node holds an
// open database until Close, though Restore then fails the node, whose
// reads say ErrNodeFailed) and the error returned. The renames are ordered so that settleDirs
// can finish or undo either path after a crash.
func (n *Node) swapIn() (uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.db.Close(); err != nil {
		n.log.Warn("replica: closing the database before a snapshot replaces it", "err", err)
	}
	// What a swap before could not remove (its warning below) would make
	// the rename fail, and the node with it (review 56): it goes now, or
	// aside, into a snapshot-* directory settleDirs removes at Open.
	if err := n.clearOld(); err != nil {
		return 0, n.reopenAfter(fmt.Errorf("replica: restore: %w", err))
	}
	if err := os.Rename(n.path(dbDir), n.path(oldDir)); err != nil {
		return 0, n.reopenAfter(fmt.Errorf("replica: restore: %w", err))
	}
	if err := os.Rename(n.path(stagedDir), n.path(dbDir)); err != nil {
		return 0, n.putBack(fmt.Errorf("replica: restore: %w", err))
	}
	if err := syncDir(n.cfg.Dir); err != nil {
		return 0, n.putBack(fmt.Errorf("replica: restore: %w", err))
	}
	db, applied, err := n.openDB()
	if err != nil {
		return 0, n.putBack(fmt.Errorf("replica: restore: the snapshot's database: %w", err))
	}
	n.db = db
	if err := os.RemoveAll(n.path(oldDir)); err != nil {
		n.log.Warn("replica: removing the replaced database", "err", err)
	}
	return applied, nil
}

// clearOld removes oldDir, left by a swap that could not remove it, or
// if that fails moves it into a new snapshot-* directory, for settleDirs
// to try again at the next Open. Called with n.mu held.
func (n *Node) clearOld() error {
	old := n.path(oldDir)
	if _, err := os.Lstat(old); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	err := os.RemoveAll(old)
	if err == nil {
		return nil
	}
	n.log.Warn("replica: removing a replaced database left by an earlier snapshot; moving it aside", "err", err)
	aside, merr := os.MkdirTemp(n.cfg.Dir, snapshotPrefix)
	if merr != nil {
		return errors.Join(err, merr)
	}
	if merr := os.Rename(old, filepath.Join(aside, "old")); merr != nil {
		return errors.Join(err, merr)
	}
	return nil
}

// putBack undoes a swap whose snapshot did not open: the snapshot's
// database moves aside (to failedDir, removed by settleDirs), then the
// old one back to dbDir, which is reopened. It returns cause, joined with
// what else went wrong. Called with n.mu held.
func (n *Node) putBack(cause error) error {
	if _, err := os.Stat(n.path(dbDir)); err == nil {
		if err := os.Rename(n.path(dbDir), n.path(failedDir)); err != nil {
			return errors.Join(cause, fmt.Errorf("replica: putting the replaced database back: %w", err))
		}
	}
	if err := os.Rename(n.path(oldDir), n.path(dbDir)); err != nil {
		return errors.Join(cause, fmt.Errorf("replica: putting the replaced database back: %w", err))
	}
	if err := syncDir(n.cfg.Dir); err != nil {
		return errors.Join(cause, fmt.Errorf("replica: putting the replaced database back: %w", err))
	}
	os.RemoveAll(n.path(failedDir))
	return n.reopenAfter(cause)
}

// reopenAfter reopens the database in dbDir after a swap failed with
// cause, so that the node holds an open database until it is closed.
// Called with n.mu held.
func (n *Node) reopenAfter(cause error) error {
	db, _, err := n.openDB()
	if err != nil {
		return errors.Join(cause, fmt.Errorf("replica: reopening the database: %w", err))
	}
	n.db = db
	return cause
}

// stopRaft tells raft to stop, once, and returns the future that waits
// for it (a second raft.Shutdown would not wait).
func (n *Node) stopRaft() raft.Future {
	n.stopOnce.Do(func() { n.stopped = n.raft.Shutdown() })
	return n.stopped
}

// fail stops the node after its database failed.
func (n *Node) fail(err error) {
	n.failMu.Lock()
	if n.failed == nil {
		n.failed = fmt.Errorf("%w: %w", ErrNodeFailed, err)
		n.log.Error("replica: node failed; stopping it", "err", err)
		// raft is nil while raft.NewRaft restores a snapshot on start:
		// NewRaft then fails, and Open with it.
		if n.raft != nil {
			n.stopRaft() // signals only: raft's goroutines end on their own
		}
	}
	n.failMu.Unlock()
}

func (n *Node) failure() error {
	n.failMu.Lock()
	defer n.failMu.Unlock()
	return n.failed
}

// Close stops the node: raft, its transport and stores, and the database.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		close(n.closing)
		var errs []error
		if n.raft != nil {
			stopped := n.stopRaft()
			// The connections go first: raft reads a peer's snapshot
			// stream with no deadline, in the goroutine the future waits
			// for, so a leader gone silent mid-send held Close for ever
			// (review 56).
			if n.layer != nil {
				n.layer.Close()
			}
			errs = append(errs, stopped.Error()) // waits for raft's goroutines
		}
		errs = append(errs, n.closeParts())
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

func (n *Node) closeParts() error {
	var errs []error
	if n.trans != nil {
		errs = append(errs, n.trans.Close())
	} else if n.layer != nil {
		errs = append(errs, n.layer.Close())
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	n.mu.Lock()
	if n.db != nil {
		errs = append(errs, n.db.Close())
	}
	n.mu.Unlock()
	if n.lock != nil {
		errs = append(errs, n.lock.Close())
	}
	return errors.Join(errs...)
}

// slogWriter writes raft's log lines to a slog.Logger.
type slogWriter struct{ l *slog.Logger }

// Write logs one line of raft's.
func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Info(string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

var _ io.Writer = slogWriter{}
