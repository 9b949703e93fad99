package kv

// Tests from an outside review of compaction: each failed before its fix
// (the probes in compact_review_probe_test.go held up).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// holdBackground takes the compaction token, so that the background
// goroutine does nothing until runBackgroundJob: the test decides when
// the job runs.
func holdBackground(db *DB) { db.compact.sem <- struct{}{} }

// runBackgroundJob runs what the background goroutine runs when it finds
// dead segments (holdBackground must have been called), then lets the
// background goroutine go on.
func runBackgroundJob(db *DB) {
	if pol, err := db.policy(); err == nil {
		db.compactDead(pol)
	}
	<-db.compact.sem
}

// A background compaction whose inputs hold an old version of a key
// whose successor is in the active segment records a trim horizon above
// the last version the manifest's segments cover. The manifest decoder
// rejects exactly that, so the next Open fails with ErrCorrupt.
func TestReviewTrimHorizonInActiveSegmentReopen(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	holdBackground(db)
	mustPut(t, db, "r", "a", String("a1"))
	fillDeadSegments(t, db) // sealed segments of overwrites of one key: mostly dead
	// The successor of a's old version lands in the active segment.
	a2 := mustPut(t, db, "r", "a", String("a2"))
	runBackgroundJob(db)
	_, err = db.GetAt("r", "a", a2-1)
	require.ErrorIs(t, err, ErrHistoryTrimmed, "the background job dropped a1")
	require.NoError(t, db.Close())

	db, err = openMem(t, mem, opts)
	require.NoError(t, err, "reopen after a background compaction")
	require.Equal(t, String("a2"), mustGet(t, db, "r", "a").Value)
	require.NoError(t, db.Close())
}

// fillDeadSegments overwrites one key ("f") until two segments are
// sealed: their bytes are almost all dead under KeepVersions 1.
func fillDeadSegments(t *testing.T, db *DB) {
	t.Helper()
	pad := strings.Repeat("x", 200)
	for i := 0; db.segs.Load().active.ID() < 3; i++ {
		mustPut(t, db, "r", "f", String(fmt.Sprintf("%d%s", i, pad)))
	}
}

// rollNow seals the active segment, as Compact does first.
func rollNow(t testing.TB, db *DB) {
	t.Helper()
	require.NoError(t, db.commit(&commitReq{roll: true}))
}

// getWithin runs db.Get in a goroutine and fails the test if it does not
// return within d.
func getWithin(t *testing.T, db *DB, run RunID, key string, d time.Duration) (Versioned, bool, error) {
	t.Helper()
	type res struct {
		v   Versioned
		ok  bool
		err error
	}
	ch := make(chan res, 1)
	go func() {
		v, ok, err := db.Get(run, key)
		ch <- res{v, ok, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.ok, r.err
	case <-time.After(d):
		// Unblock it (a commit moves the visible version on), so the
		// test can close the database, then fail.
		for n := 0; ; n++ {
			select {
			case <-ch:
			default:
				if _, err := db.Put("r", "unblock", Int(1)); err != nil || n > 100000 {
					panic(fmt.Sprintf("Get(%q, %q) spins and cannot be unblocked (%v)", run, key, err))
				}
				continue
			}
			break
		}
		t.Errorf("Get(%q, %q) did not return within %v (it spins until a commit arrives)", run, key, d)
		return Versioned{}, false, nil
	}
}

// Buffered mode: a commit is durable once a background fsync (or a roll)
// covers it. Compaction decides what to drop from the index, which holds
// commits not yet fsynced: it drops a1, which was durable, because a2
// exists, which is not. A power loss then loses a2 (allowed) and a1
// (not: it was fsynced long before), so the key vanishes.
func TestReviewCompactionDropsDurableVersionForUnsyncedSuccessor(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 4 << 10, SyncInterval: time.Hour, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	holdBackground(db)
	mustPut(t, db, "r", "a", String("a1"))
	fillDeadSegments(t, db) // sealed segments of overwrites of one key: mostly dead
	rollNow(t, db)          // every commit so far is sealed and fsynced
	require.NoError(t, db.Sync())
	mustPut(t, db, "r", "a", String("a2")) // written, not yet fsynced
	runBackgroundJob(db)

	img := mem.CrashClone(0) // power loss
	require.NoError(t, db.Close())
	db2, err := openMem(t, img, opts)
	require.NoError(t, err)
	defer db2.Close()
	h, err := db2.History("r", "a", 0, 0)
	require.NoError(t, err)
	require.NotEmpty(t, h, "a1 was fsynced before the crash; only a2 was not")
}

// The same crash image: the trim horizon the manifest carries is one
// above the last recovered version, and Get of a key absent at the
// newest version loops forever waiting for the visible version to reach
// the horizon.
func TestReviewGetHangsWhenHorizonAboveLastVersion(t *testing.T) {
	img, opts := horizonAboveLastImage(t)
	db2, err := openMem(t, img, opts)
	require.NoError(t, err)
	defer db2.Close()
	_, ok, err := getWithin(t, db2, "r", "never-written", 3*time.Second)
	require.NoError(t, err)
	require.False(t, ok)
}

// The same crash image: View (the newest state) needs no dropped history,
// yet returns ErrHistoryTrimmed.
func TestReviewViewOfNewestTrimmedWhenHorizonAboveLastVersion(t *testing.T) {
	img, opts := horizonAboveLastImage(t)
	db2, err := openMem(t, img, opts)
	require.NoError(t, err)
	defer db2.Close()
	require.NoError(t, db2.View(func(tx *Txn) error { return nil }))
}

// horizonAboveLastImage returns a power-loss image taken after a
// background job dropped a1 for the sake of a2, the first commit of the
// active segment, not yet fsynced (Buffered): the manifest's trim
// horizon is a2's version, one above what the image recovers.
func horizonAboveLastImage(t *testing.T) (*vfs.Mem, Options) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 4 << 10, SyncInterval: time.Hour, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	holdBackground(db)
	mustPut(t, db, "r", "a", String("a1"))
	fillDeadSegments(t, db) // sealed segments of overwrites of one key: mostly dead
	rollNow(t, db)
	mustPut(t, db, "r", "a", String("a2"))
	runBackgroundJob(db)
	img := mem.CrashClone(0)
	require.NoError(t, db.Close())
	return img, opts
}

// ViewAt's doc: "while fn runs, compaction keeps what it reads". A job
// takes its retention policy (with the oldest pinned snapshot) once, when
// it starts; a ViewAt that pins its snapshot after that, while the job
// runs, is not protected: the job drops the version its reads need, and
// fn's read fails with ErrHistoryTrimmed in the middle of the
// transaction.
func TestReviewViewAtPinnedWhileJobRunsLosesItsVersion(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	defer db.Close()
	holdBackground(db)
	v1 := mustPut(t, db, "r", "k", String("k1"))
	fillDeadSegments(t, db) // sealed segments of overwrites of one key: mostly dead
	mustPut(t, db, "r", "k", String("k2"))
	rollNow(t, db)

	pol, err := db.policy() // the job starts: no snapshot pinned yet
	require.NoError(t, err)
	entered, proceed := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- db.ViewAt(v1, func(tx *Txn) error {
			close(entered)
			<-proceed
			v, ok, err := tx.Get("r", "k")
			if err != nil {
				return err
			}
			if !ok || !v.Value.Equal(String("k1")) {
				return fmt.Errorf("read %v %v at version %d, want k1", v.Value, ok, v1)
			}
			return nil
		})
	}()
	<-entered // ViewAt has pinned v1 and checked the horizon
	db.compactDead(pol)
	<-db.compact.sem
	close(proceed)
	require.NoError(t, <-errc, "ViewAt's fn was running while compaction ran")
}

// salvageBelowHorizonDir writes a directory where a compaction recorded
// a trim horizon (the successor of the version it dropped) lying in a
// later, uncompacted segment, then damages that segment below the
// horizon. It returns the directory and the successor's version.
func salvageBelowHorizonDir(t *testing.T) (string, Version) {
	dir := t.TempDir()
	opts := &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	mustPut(t, db, "r", "k", String("k1"))
	for i := 0; db.segs.Load().active.ID() < 2; i++ {
		mustPut(t, db, "r", fmt.Sprintf("a%04d", i), String(fmt.Sprintf("first-%04d", i)))
	}
	// Segment 2: keys written once (nothing dead), then k's successor.
	s2 := db.segs.Load().active.Path()
	for i := range 20 {
		mustPut(t, db, "r", fmt.Sprintf("b%04d", i), String(fmt.Sprintf("second-%04d", i)))
	}
	k2 := mustPut(t, db, "r", "k", String("k2"))
	rollNow(t, db)
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 1, st.VersionsDropped, "only k1 is dropped")
	_, err = db.GetAt("r", "k", k2-1)
	require.ErrorIs(t, err, ErrHistoryTrimmed)
	require.NoError(t, db.Close())

	// Damage the value of b0005 in segment 2 (fsynced long ago).
	b, err := os.ReadFile(s2)
	require.NoError(t, err)
	i := bytes.Index(b, []byte("second-0005"))
	require.Positive(t, i)
	b[i+3] ^= 0x20
	require.NoError(t, os.WriteFile(s2, b, 0o600))
	return dir, k2
}

// Salvage opens below the trim horizon but keeps the horizon as it was
// and writes it into the manifest it writes at Open. That manifest lists
// segments ending below its own trim horizon, which DecodeManifest
// rejects: the salvaged directory never opens again, not even with
// RecoverSalvage.
func TestReviewSalvageBelowTrimHorizonReopen(t *testing.T) {
	dir, k2 := salvageBelowHorizonDir(t)
	salvage := &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1, Recovery: RecoverSalvage}
	db, err := Open(dir, salvage)
	require.NoError(t, err)
	require.Less(t, uint64(db.LastVersion()), uint64(k2))
	require.NotEmpty(t, db.Recovery().MovedAside)
	require.NoError(t, db.Close())

	db, err = Open(dir, nil)
	require.NoError(t, err, "the salvaged directory opens again")
	require.NoError(t, db.Close())
	db, err = Open(dir, salvage)
	require.NoError(t, err, "the salvaged directory opens again with RecoverSalvage")
	require.NoError(t, db.Close())
}

// After that salvage, db.trimmed is above the visible version: Get of a
// key absent at the newest version loops until enough commits arrive.
func TestReviewSalvageBelowTrimHorizonGetSpins(t *testing.T) {
	dir, _ := salvageBelowHorizonDir(t)
	db, err := Open(dir, &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1, Recovery: RecoverSalvage})
	require.NoError(t, err)
	defer db.Close()
	_, ok, err := getWithin(t, db, "r", "never-written", 3*time.Second)
	require.NoError(t, err)
	require.False(t, ok)
}

// The API contract: ViewAt "at == 0: the empty database". Reading the empty
// database needs no history, whatever compaction dropped; GetAt at 0 has
// no version that could have answered it, so the key is certainly
// absent there (ErrNotFound), not trimmed.
func TestReviewReadsAtVersionZeroAfterCompaction(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	mustPut(t, db, "r", "k", String("k1"))
	mustPut(t, db, "r", "k", String("k2"))
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 1, st.VersionsDropped)

	_, err = db.GetAt("r", "k", 0)
	require.ErrorIs(t, err, ErrNotFound, "no version <= 0 ever existed")
	err = db.ViewAt(0, func(tx *Txn) error {
		keys, err := tx.Keys("r", "", 0)
		if err == nil && len(keys) != 0 {
			err = fmt.Errorf("keys %v in the empty database", keys)
		}
		return err
	})
	require.NoError(t, err, "ViewAt(0) is the empty database")
}

// gateFS blocks the Sync of one file (by path) until released, then
// fails it or not.
type gateFS struct {
	vfs.FS
	mu      sync.Mutex
	target  string
	waiting chan struct{} // closed when a Sync of target is blocked
	release chan error
}

type gateFile struct {
	vfs.File
	g    *gateFS
	name string
}

func (g *gateFS) OpenRW(name string) (vfs.File, error) {
	f, err := g.FS.OpenRW(name)
	if err != nil {
		return nil, err
	}
	return &gateFile{File: f, g: g, name: name}, nil
}

// arm makes the next Sync of path block until disarm.
func (g *gateFS) arm(path string) {
	g.mu.Lock()
	g.target, g.waiting, g.release = path, make(chan struct{}), make(chan error, 1)
	g.mu.Unlock()
}

func (f *gateFile) Sync() error {
	g := f.g
	g.mu.Lock()
	hit := g.target != "" && g.target == f.name
	var waiting chan struct{}
	var release chan error
	if hit {
		g.target = ""
		waiting, release = g.waiting, g.release
	}
	g.mu.Unlock()
	if hit {
		close(waiting)
		if err := <-release; err != nil {
			return err
		}
	}
	return f.File.Sync()
}

// strictInFlight sets up, in Strict mode, key k with a durable,
// acknowledged version k1 in a sealed segment that is mostly dead, and a
// Put of k2 blocked in its fsync (k2 is in the index, not yet visible).
// It returns the DB (background compaction held), the FS gate and the
// Put's result channel.
func strictInFlight(t *testing.T) (*DB, *gateFS, *vfs.Mem, Options, chan error) {
	mem := vfs.NewMem()
	g := &gateFS{FS: mem}
	opts := Options{Durability: Strict, SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5}
	db, err := openMem(t, g, opts)
	require.NoError(t, err)
	holdBackground(db)
	mustPut(t, db, "r", "k", String("k1"))
	fillDeadSegments(t, db) // sealed segments of overwrites of one key: mostly dead
	// k2 will be the first commit of a new segment (so the trim horizon
	// the job records stays within what the manifest allows).
	rollNow(t, db)
	g.arm(db.segs.Load().active.Path())
	done := make(chan error, 1)
	go func() {
		_, err := db.Put("r", "k", String("k2"))
		done <- err
	}()
	<-g.waiting // k2 is in the index, its fsync not done
	return db, g, mem, opts, done
}

// Compaction decides from the index, which holds commits not yet
// published. While k2's commit is in flight, a job drops k1 (k2 is its
// successor): Exists, Get and Keys at the newest visible version, where
// k1 is k's value, then say k is absent.
func TestReviewCompactionHidesLiveKeyDuringInFlightCommit(t *testing.T) {
	db, g, _, _, done := strictInFlight(t)
	visible := db.LastVersion()
	runBackgroundJob(db)
	ok, err := db.Exists("r", "k")
	keys, kerr := db.Keys("r", "k", 0)
	h, herr := db.History("r", "k", 0, 0)
	require.Equal(t, visible, db.LastVersion(), "k2 is not visible yet")
	g.release <- nil
	require.NoError(t, <-done)
	require.NoError(t, err)
	require.NoError(t, kerr)
	require.NoError(t, herr)
	require.True(t, ok, "k is live at version %d (k1); compaction must not change what reads return", visible)
	require.Equal(t, []string{"k"}, keys)
	require.NotEmpty(t, h)
	require.NoError(t, db.Close())
}

// The same, and k2's fsync fails: the Put returns an error and k2 is
// cut from the file (never acknowledged), but k1 (acknowledged, fsynced)
// is gone too: the key is lost.
func TestReviewCompactionLosesKeyWhenInFlightCommitFails(t *testing.T) {
	db, g, mem, opts, done := strictInFlight(t)
	runBackgroundJob(db)
	g.release <- errors.New("injected: fsync failed")
	require.Error(t, <-done, "the Put of k2 failed")
	db.Close() // returns the write failure
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	defer db.Close()
	// (History, not Get: Get spins here, see
	// TestReviewGetHangsWhenHorizonAboveLastVersion.)
	h, err := db.History("r", "k", 0, 0)
	require.NoError(t, err)
	require.NotEmpty(t, h, "k1 was acknowledged and fsynced; only k2 failed")
	require.Equal(t, String("k1"), h[0].Value)
}

// cancelAfter is a context cancelled on its n-th Err call.
type cancelAfter struct {
	context.Context
	mu   sync.Mutex
	n    int
	done chan struct{}
}

func newCancelAfter(n int) *cancelAfter {
	return &cancelAfter{Context: context.Background(), n: n, done: make(chan struct{})}
}

func (c *cancelAfter) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.n <= 0 {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
		return context.Canceled
	}
	return nil
}

func (c *cancelAfter) Done() <-chan struct{} { return c.done }

// Compact cancelled at every point where it looks at its context leaves
// a database that reads as before or as compacted, reopens to the same,
// and compacts fully afterwards.
func TestReviewCompactCancelledAtEveryCheck(t *testing.T) {
	opts := Options{SegmentSize: 2 << 10, Retention: Retention{KeepVersions: 2}, CompactAt: -1}
	build := func() (*vfs.Mem, *DB, map[string][]Versioned) {
		mem := vfs.NewMem()
		db, err := openMem(t, mem, opts)
		require.NoError(t, err)
		for j := range 6 {
			for i := range 300 {
				mustPut(t, db, "r", fmt.Sprintf("k%03d", i), String(fmt.Sprintf("k%03d/%d", i, j)))
			}
			if j == 3 {
				for i := 0; i < 300; i += 7 {
					_, err := db.Delete("r", fmt.Sprintf("k%03d", i))
					require.NoError(t, err)
				}
			}
		}
		full := map[string][]Versioned{}
		for i := range 300 {
			k := fmt.Sprintf("k%03d", i)
			h, err := db.History("r", k, 0, 0)
			require.NoError(t, err)
			full[k] = h
		}
		return mem, db, full
	}
	check := func(db *DB, full map[string][]Versioned, what string) {
		for k, h := range full {
			got, err := db.History("r", k, 0, 0)
			require.NoError(t, err, what)
			require.LessOrEqual(t, len(got), len(h), what)
			require.GreaterOrEqual(t, len(got), min(2, len(h)), "%s: %s keeps 2", what, k)
			for i := range got {
				require.Equal(t, h[i].Version, got[i].Version, "%s %s", what, k)
				require.True(t, h[i].Value.Equal(got[i].Value), "%s %s", what, k)
			}
		}
	}
	for n := 1; ; n++ {
		mem, db, full := build()
		ctx := newCancelAfter(n)
		_, err := db.Compact(ctx)
		check(db, full, fmt.Sprintf("cancel at %d", n))
		require.NoError(t, db.Close())
		db, err2 := openMem(t, mem, opts)
		require.NoError(t, err2, "reopen after cancel at %d", n)
		check(db, full, fmt.Sprintf("reopened, cancel at %d", n))
		_, err2 = db.Compact(context.Background())
		require.NoError(t, err2)
		for k, h := range full {
			require.Len(t, history(t, db, "r", k), min(2, len(h)), "%s", k)
		}
		require.NoError(t, db.Close())
		if err == nil {
			t.Logf("Compact completes after %d context checks", n)
			return
		}
		require.ErrorIs(t, err, context.Canceled)
	}
}

// readValues (and so Scan) is given the segment table loaded before the
// index walk. When a record names a segment newer than that table it
// switches to the current table for the rest of the records; but if a
// compaction finished in between, the current table no longer holds the
// inputs that the walk's other records still name, and the read fails
// with ErrCorrupt ("segment ... is not open") although nothing is
// damaged. This replays Scan's steps (table, walk, read) with a roll and
// a write landing between the table load and the walk, and a background
// job completing between the walk and the read.
func TestReviewScanReadAcrossRollAndCompaction(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	defer db.Close()
	holdBackground(db)
	mustPut(t, db, "r", "b", String("b1"))
	fillDeadSegments(t, db) // sealed segments of overwrites of one key: mostly dead
	mustPut(t, db, "r", "a", String("a1"))

	// Scan: the table first...
	tbl := db.segs.Load()
	// ...a commit rolls the segment and writes a...
	rollNow(t, db)
	mustPut(t, db, "r", "a", String("a2"))
	// ...the walk finds a (in the new segment) and b (in segment 1)...
	var recs []index.Record
	db.walk("r", "", "", db.visible.Load(), nil, func(key string, r index.Record, _ *pendingWrite) bool {
		if key == "a" || key == "b" {
			recs = append(recs, r)
		}
		return true
	})
	require.Len(t, recs, 2)
	// ...a background job rewrites segment 1 and removes it...
	runBackgroundJob(db)
	require.Nil(t, db.segs.Load().sealed[1], "segment 1 was compacted away")
	// ...and the values are read.
	vals := make([]Value, len(recs))
	require.NoError(t, db.readValues(tbl, recs, vals))
	require.Equal(t, String("a2"), vals[0])
	require.Equal(t, String("b1"), vals[1])
}

// Two intact frames of a sealed segment swapped (same sizes, so every
// offset still lines up): a scan catches it by their versions (DESIGN:
// "intact frames spliced out of order ... are caught by their
// versions"), and Open without a hint fails with ErrCorrupt. With the
// hint file present, Open's default verification only checks each
// frame's checksum, the frame count and the last version, so it opens,
// and Get returns the other key's value as this key's, silently.
func TestReviewSwappedFramesBehindAHint(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{SegmentSize: 4 << 10, SyncInterval: time.Hour, CompactAt: -1}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	first := db.segs.Load().active.Path()
	for i := 0; db.segs.Load().active.Path() == first; i++ {
		mustPut(t, db, "r", fmt.Sprintf("k%04d", i), String(fmt.Sprintf("value-%04d", i)))
	}
	require.NoError(t, db.Close())
	_, err = os.Stat(strings.TrimSuffix(first, segment.Ext) + segment.HintExt)
	require.NoError(t, err, "the sealed segment has its hint")

	// Two adjacent frames of equal size, past the first (which names the run).
	s, err := segment.OpenSealed(vfs.Default, first)
	require.NoError(t, err)
	var frames []segment.Frame
	sc := s.Scanner()
	for {
		f, err := sc.Next()
		if err != nil {
			break
		}
		frames = append(frames, f)
	}
	b := bytes.Clone(s.Bytes())
	s.Close()
	x := -1
	for i := 2; i+1 < len(frames)-1; i++ {
		if frames[i].Size == frames[i+1].Size && !frames[i].Marker() && !frames[i+1].Marker() {
			x = i
			break
		}
	}
	require.GreaterOrEqual(t, x, 0, "two adjacent frames of equal size")
	a, c := frames[x], frames[x+1]
	fa := bytes.Clone(b[a.Offset : a.Offset+int64(a.Size)])
	fc := bytes.Clone(b[c.Offset : c.Offset+int64(c.Size)])
	copy(b[a.Offset:], fc)
	copy(b[c.Offset:], fa)
	require.NoError(t, os.WriteFile(first, b, 0o600))
	keyA := fmt.Sprintf("k%04d", x)

	// Without the hint, Open scans the segment and refuses it.
	noHint := kvtestCopyDir(t, dir)
	require.NoError(t, os.Remove(filepath.Join(noHint, segment.HintName(1))))
	_, err = Open(noHint, opts)
	require.ErrorIs(t, err, ErrCorrupt, "a scan catches the swap")

	db, err = Open(dir, opts)
	if err == nil {
		v, ok, gerr := db.Get("r", keyA)
		db.Close()
		require.ErrorIs(t, err, ErrCorrupt, "Open with the hint accepted the swapped frames; Get(%s) = %v %v %v", keyA, v.Value, ok, gerr)
	}
	require.ErrorIs(t, err, ErrCorrupt)
}

func kvtestCopyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600))
	}
	return dst
}

// Options.CompactAt: "background compaction rewrites a sealed segment
// once this fraction of its bytes is dead". Segments in which every
// version but a handful is outside Retention are nearly 100% dead, yet
// the estimate the background job compares with CompactAt counts only
// key + value + 8 bytes per version, about two thirds of a small
// frame: with CompactAt 0.8 such segments are never compacted.
func TestReviewCompactAtMissesFullyDeadSegments(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.8}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	defer db.Close()
	holdBackground(db)
	for i := 0; db.segs.Load().active.ID() < 6; i++ {
		mustPut(t, db, "r", fmt.Sprintf("k%d", i%4), Int(int64(i)))
	}
	before := db.Stats()
	sizes := int64(0)
	for _, s := range db.segs.Load().sealed {
		sizes += int64(len(s.Bytes()))
	}
	t.Logf("sealed bytes %d, Stats.DeadBytes %d, LiveBytes %d", sizes, before.DeadBytes, before.LiveBytes)
	runBackgroundJob(db)
	after := db.Stats()
	require.Less(t, after.Versions, before.Versions, "segments 1 to 5 hold only dead versions: the background job compacts them")
}

// Stats.DeadBytes is "bytes compaction could reclaim"; compare it with
// what Compact then reclaims.
func TestReviewDeadBytesMatchesWhatCompactReclaims(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	for i := range 3000 {
		mustPut(t, db, "r", fmt.Sprintf("k%d", i%4), Int(int64(i)))
	}
	require.NoError(t, db.commit(&commitReq{roll: true}))
	before := db.Stats()
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	t.Logf("DeadBytes %d, reclaimed %d", before.DeadBytes, st.BytesReclaimed)
	require.InEpsilon(t, float64(st.BytesReclaimed), float64(before.DeadBytes), 0.2)
}

// A compaction that keeps nothing of a run (background compaction: the
// newest versions are in the active segment) still writes an output, a
// compacted segment of just a header, to cover the run's versions; such
// an output holds nothing dead, so no later job ever rewrites or merges
// it (it also splits the runs of dead segments around it). Under a
// steady overwrite workload each background job leaves one more empty
// segment file (and its hint) for good, and Open maps every one.
func TestReviewEmptyCompactedSegmentsAccumulate(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	defer db.Close()
	var counts []int
	n := 0
	for range 20 {
		holdBackground(db)
		start := db.segs.Load().active.ID()
		for db.segs.Load().active.ID() < start+3 {
			mustPut(t, db, "r", fmt.Sprintf("k%d", n%8), Int(int64(n)))
			n++
		}
		for range 8 { // every key's newest version is in the active segment
			mustPut(t, db, "r", fmt.Sprintf("k%d", n%8), Int(int64(n)))
			n++
		}
		runBackgroundJob(db)
		counts = append(counts, db.Stats().Segments)
	}
	empty := 0
	for _, s := range db.segs.Load().sealed {
		if len(s.Bytes()) == segment.HeaderSize {
			empty++
		}
	}
	t.Logf("segments after each job: %v; %d hold nothing", counts, empty)
	require.LessOrEqual(t, counts[len(counts)-1], counts[2]+2, "the segment count levels off for a fixed set of 8 keys")
}

// Compact first seals the active segment, whatever it holds, even when
// Retention keeps everything (Compact then does nothing else) or the
// segment holds nothing to drop. A program that calls Compact
// periodically gets one new small segment file (plus hint) per call,
// which no compaction ever merges.
func TestReviewCompactRollsASegmentPerCall(t *testing.T) {
	for _, ret := range []Retention{{}, {KeepVersions: 1}} {
		t.Run(fmt.Sprintf("%+v", ret), func(t *testing.T) {
			db := openT(t, &Options{Retention: ret, CompactAt: -1})
			for i := range 50 {
				mustPut(t, db, "r", fmt.Sprintf("new-key-%d", i), Int(int64(i)))
				_, err := db.Compact(t.Context())
				require.NoError(t, err)
			}
			st := db.Stats()
			t.Logf("%d segments for 50 small commits", st.Segments)
			require.LessOrEqual(t, st.Segments, 5, "50 one-commit segments of a few dozen bytes each")
		})
	}
}

// Public API only: Compact while a writer overwrites keys, then Close
// and Open. The writer's commits after Compact's roll land in the active
// segment; a job that meets an older version of such a key drops it and
// records its successor (in the active segment) as the trim horizon, and
// the manifest the switch writes then fails the next Open.
func TestReviewCompactWithConcurrentWriterThenReopen(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{Retention: Retention{KeepVersions: 1}, CompactAt: -1}
	for round := range 30 {
		db, err := Open(dir, opts)
		require.NoError(t, err, "reopen after Compact with a concurrent writer (round %d)", round)
		for i := range 5000 {
			mustPut(t, db, "r", fmt.Sprintf("k%04d", i%2500), Int(int64(i)))
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if _, err := db.Put("r", fmt.Sprintf("k%04d", 2499-i*10), Int(int64(i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		_, err = db.Compact(t.Context())
		require.NoError(t, err)
		wg.Wait()
		require.NoError(t, db.Close())
	}
}
