package kv

// Tests from an outside review of compaction (each failed before its fix).

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
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
func TestTrimHorizonInTheActiveSegmentReopens(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	holdBackground(db)
	pad := strings.Repeat("x", 200)
	mustPut(t, db, "r", "a", String("a1"))
	// Fill sealed segments with overwrites of one key: mostly dead.
	for i := 0; db.segs.Load().active.ID() < 3; i++ {
		mustPut(t, db, "r", "f", String(fmt.Sprintf("%d%s", i, pad)))
	}
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

// rollNow seals the active segment, as Compact does first.
func rollNow(t *testing.T, db *DB) {
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
		db.Put("r", "unblock", Int(1))
		<-ch
		t.Errorf("Get(%q, %q) did not return within %v (it spins until a commit arrives)", run, key, d)
		return Versioned{}, false, nil
	}
}

// Buffered mode: a commit is durable once a background fsync (or a roll)
// covers it. Compaction decides what to drop from the index, which holds
// commits not yet fsynced: it drops a1, which was durable, because a2
// exists, which is not. A power loss then loses a2 (allowed) and a1
// (not: it was fsynced long before), so the key vanishes.
func TestCompactionKeepsWhatAnUnsyncedVersionSupersedes(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 4 << 10, SyncInterval: time.Hour, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	holdBackground(db)
	pad := strings.Repeat("x", 200)
	mustPut(t, db, "r", "a", String("a1"))
	for i := 0; db.segs.Load().active.ID() < 3; i++ {
		mustPut(t, db, "r", "f", String(fmt.Sprintf("%d%s", i, pad)))
	}
	rollNow(t, db) // every commit so far is sealed and fsynced
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
func TestGetDoesNotSpinAtTheHorizon(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 4 << 10, SyncInterval: time.Hour, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	holdBackground(db)
	pad := strings.Repeat("x", 200)
	mustPut(t, db, "r", "a", String("a1"))
	for i := 0; db.segs.Load().active.ID() < 3; i++ {
		mustPut(t, db, "r", "f", String(fmt.Sprintf("%d%s", i, pad)))
	}
	rollNow(t, db)
	mustPut(t, db, "r", "a", String("a2"))
	runBackgroundJob(db)
	img := mem.CrashClone(0)
	require.NoError(t, db.Close())

	db2, err := openMem(t, img, opts)
	require.NoError(t, err)
	defer db2.Close()
	_, ok, err := getWithin(t, db2, "r", "never-written", 3*time.Second)
	require.NoError(t, err)
	require.False(t, ok)
}

// ViewAt's doc: "while fn runs, compaction keeps what it reads". A job
// takes its retention policy (with the oldest pinned snapshot) once, when
// it starts; a ViewAt that pins its snapshot after that, while the job
// runs, is not protected: the job drops the version its reads need, and
// fn's read fails with ErrHistoryTrimmed in the middle of the
// transaction.
func TestViewAtPinnedWhileAJobRunsKeepsItsVersions(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5}
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	defer db.Close()
	holdBackground(db)
	pad := strings.Repeat("x", 200)
	v1 := mustPut(t, db, "r", "k", String("k1"))
	for i := 0; db.segs.Load().active.ID() < 3; i++ {
		mustPut(t, db, "r", "f", String(fmt.Sprintf("%d%s", i, pad)))
	}
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

// API.md: ViewAt "at == 0: the empty database". Reading the empty
// database needs no history, whatever compaction dropped; GetAt at 0 has
// no version that could have answered it, so the key is certainly
// absent there (ErrNotFound), not trimmed.
func TestReadsAtVersionZeroAfterCompaction(t *testing.T) {
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
