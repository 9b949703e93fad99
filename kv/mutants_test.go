package kv

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/strata-kv/strata/internal/vfs"

	"github.com/stretchr/testify/require"
)

// Tests that close gaps a mutation run found: each fails on a small,
// plausible change to a critical line (named in its comment).

// A value whose encoding is exactly MaxValueBytes is accepted, one byte
// more is refused (mutant: > written >=, or the reverse).
func TestMaxValueBytesBoundary(t *testing.T) {
	db := openT(t, &Options{MaxValueBytes: 100})
	// Bytes of n bytes encodes as a tag, a one-byte length and n bytes.
	mustPut(t, db, "r", "at-limit", Bytes(make([]byte, 98)))
	before := db.LastVersion()
	_, err := db.Put("r", "over", Bytes(make([]byte, 99)))
	require.ErrorIs(t, err, ErrInvalidValue)
	require.Equal(t, before, db.LastVersion(), "nothing written")
	absent(t, db, "r", "over")
	mustPut(t, db, "r", "string-at-limit", String(strings.Repeat("s", 98)))
	_, err = db.MPut("r", []KeyValue{{"a", Int(1)}, {"b", Bytes(make([]byte, 99))}})
	require.ErrorIs(t, err, ErrInvalidValue)
	absent(t, db, "r", "a")
}

// A transaction that read an absent key with Get (not Exists) conflicts
// when another commit creates that key before it commits (mutant: the
// read set records Get's key only when it is found).
func TestTxnGetOfAbsentKeyConflicts(t *testing.T) {
	db := openT(t, nil)
	_, err := db.Update(func(tx *Txn) error {
		_, ok, err := tx.Get("r", "new")
		require.NoError(t, err)
		require.False(t, ok)
		mustPut(t, db, "r", "new", Int(1)) // a concurrent writer creates it
		return tx.Put("r", "derived", Int(1))
	})
	require.ErrorIs(t, err, ErrConflict)
	absent(t, db, "r", "derived")

	// Read with Get, then deleted by another commit: a conflict too.
	_, err = db.Update(func(tx *Txn) error {
		_, ok, err := tx.Get("r", "new")
		require.NoError(t, err)
		require.True(t, ok)
		_, err = db.Delete("r", "new")
		require.NoError(t, err)
		return tx.Put("r", "derived", Int(2))
	})
	require.ErrorIs(t, err, ErrConflict)
	absent(t, db, "r", "derived")
}

// Paging History with before = the last version of the previous page
// visits every version once and ends (mutant: a version equal to before
// returned again, which pages forever): the loop is capped so that it
// fails at once, with a name, instead of hanging.
func TestHistoryPagingEndsAndRepeatsNothing(t *testing.T) {
	db := openT(t, nil)
	var want []Version
	for i := 0; i < 7; i++ {
		want = append([]Version{mustPut(t, db, "r", "k", Int(int64(i)))}, want...)
	}
	var got []Version
	before := Version(0)
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10, "History paging does not end: before=%d returned %v", before, got)
		page, err := db.History("r", "k", 3, before)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		for _, v := range page {
			if before != 0 {
				require.Less(t, v.Version, before, "a page holds only versions below before")
			}
			got = append(got, v.Version)
		}
		before = page[len(page)-1].Version
	}
	require.Equal(t, want, got)
	// before = a version itself excludes it.
	page, err := db.History("r", "k", 0, want[2])
	require.NoError(t, err)
	require.Len(t, page, 4)
	require.Equal(t, want[3], page[0].Version)
}

// Two CompareAndSwapVersion calls with the same expected version that
// land in one commit group: exactly one wins, deterministically (mutant:
// the check made against the published version instead of the newest,
// which the first CAS of the group has just changed). The pipeline's
// leader is held in its fsync until both calls wait behind it.
func TestCASSameExpectedVersionInOneGroup(t *testing.T) {
	efs := vfs.NewErrorFS(vfs.NewMem(), -1, false)
	db, err := openMem(t, efs, Options{Durability: Strict})
	require.NoError(t, err)
	defer db.Close()
	v1 := mustPut(t, db, "r", "k", Int(1))

	blocked, release := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	armed.Store(true)
	efs.SetAfter(func(op vfs.Op) {
		if op.Kind == vfs.OpSync && armed.CompareAndSwap(true, false) {
			close(blocked)
			<-release
		}
	})
	putDone := make(chan error, 1)
	go func() { // leads a group and waits in its fsync
		_, err := db.Put("r", "x", Int(0))
		putDone <- err
	}()
	<-blocked
	type result struct {
		ok  bool
		err error
	}
	results := make(chan result, 2)
	for i := 0; i < 2; i++ {
		go func() {
			ok, err := db.CompareAndSwapVersion("r", "k", v1, Int(int64(10+i)))
			results <- result{ok, err}
		}()
	}
	for queued := 0; queued < 2; runtime.Gosched() { // both wait behind the leader
		db.pipe.mu.Lock()
		queued = len(db.pipe.queue)
		db.pipe.mu.Unlock()
	}
	close(release)
	require.NoError(t, <-putDone)
	a, b := <-results, <-results
	require.NoError(t, a.err)
	require.NoError(t, b.err)
	require.True(t, a.ok != b.ok, "exactly one CAS of version %d wins (got %v and %v)", v1, a.ok, b.ok)
	h, err := db.History("r", "k", 0, 0)
	require.NoError(t, err)
	require.Len(t, h, 2, "one write on top of version %d", v1)
}
