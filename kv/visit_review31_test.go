package kv

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
)

// compressible returns distinct, compressible bytes for version i
// (well under arenaChunk, so the arena shares a chunk).
func review31Compressible(i int) []byte {
	return append([]byte(fmt.Sprintf("%06d-", i)), bytes.Repeat([]byte("abc"), 100)...)
}

// TestReview31CompressedBytesOwned: per the contract of the change, a
// compressed Bytes value passed to fn is fn's own memory and stays
// correct after fn returns (only uncompressed Bytes are scratch views).
func TestReview31CompressedBytesOwned(t *testing.T) {
	db := openT(t, nil)
	const n = 300 // three batches: batch 2 and 3 reuse batch 1's scratch
	for i := 0; i < n; i++ {
		_, err := db.Put(DefaultRun, "h", Bytes(review31Compressible(i)))
		require.NoError(t, err)
	}
	// Make sure they are stored compressed.
	c, ok := db.ix.Find(string(DefaultRun), "h")
	require.True(t, ok)
	compressed := 0
	c.Versions(db.visible.Load(), func(r index.Record) bool {
		if r.Codec() != 0 {
			compressed++
		}
		return true
	})
	require.Equal(t, n, compressed, "values stored compressed")

	var kept []Value
	require.NoError(t, db.HistoryFunc(DefaultRun, "h", 0, 0, func(v Versioned) bool {
		kept = append(kept, v.Value) // compressed Bytes: fn's own
		return true
	}))
	require.Len(t, kept, n)
	bad := 0
	for j, v := range kept {
		b, _ := v.AsBytes()
		if !bytes.Equal(b, review31Compressible(n-1-j)) {
			if bad == 0 {
				t.Errorf("kept value %d (version %d) changed after fn returned: %.20q, want %.20q", j, n-j, b, review31Compressible(n-1-j))
			}
			bad++
		}
	}
	require.Zero(t, bad, "kept compressed Bytes values overwritten")
}

// TestReview31ViewAtLatestSeesLater: ViewAt(at) with at == LastVersion
// must read the database as it was at at, never a later commit.
func TestReview31ViewAtLatestSeesLater(t *testing.T) {
	db := openT(t, &Options{Durability: InMemory})
	mustPut(t, db, DefaultRun, "k", Int(0))
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; !stop.Load(); i++ {
			if _, err := db.Put(DefaultRun, "k", Int(int64(i))); err != nil {
				return
			}
		}
	}()
	defer func() { stop.Store(true); <-done }()
	for iter := 0; iter < 100000; iter++ {
		at := db.LastVersion()
		var got Versioned
		require.NoError(t, db.ViewAt(at, func(tx *Txn) error {
			v, _, err := tx.Get(DefaultRun, "k")
			got = v
			return err
		}))
		if got.Version > at {
			t.Fatalf("iteration %d: ViewAt(%d) read version %d, committed after at", iter, at, got.Version)
		}
	}
}

// TestReview31HistoryFuncCompactMidCall: with KeepVersions 1, History
// returns every version until compaction runs. A Compact from fn during
// HistoryFunc drops the versions the later batches read: fn must still
// get all that History returned before the call (the records were all
// read at the start, and their segments stay mapped).
func TestReview31HistoryFuncCompactMidCall(t *testing.T) {
	db := openT(t, &Options{Retention: Retention{KeepVersions: 1}, SegmentSize: 8 << 10, CompactAt: -1})
	for i := 0; i < 300; i++ {
		mustPut(t, db, DefaultRun, "h", Bytes([]byte(fmt.Sprintf("h-%d", i))))
		mustPut(t, db, DefaultRun, fmt.Sprintf("pad%03d", i), Bytes(bytes.Repeat([]byte("p"), 40)))
	}
	require.NoError(t, db.Sync())
	want, err := db.History(DefaultRun, "h", 0, 0)
	require.NoError(t, err)
	require.Len(t, want, 300, "nothing compacted yet")
	var got []Versioned
	require.NoError(t, db.HistoryFunc(DefaultRun, "h", 0, 0, func(v Versioned) bool {
		if len(got) == 0 {
			st, err := db.Compact(t.Context())
			require.NoError(t, err)
			require.Positive(t, st.VersionsDropped, "the compaction must drop versions the later batches need")
		}
		got = append(got, copyVersioned(v))
		return true
	}))
	requireSameVersions(t, want, got, "HistoryFunc against History before the call")
	after, err := db.History(DefaultRun, "h", 0, 0)
	require.NoError(t, err)
	require.Less(t, len(after), len(want), "the compaction dropped versions the later batches read")
}

// TestReview31PinLatestAfterSalvage: after a salvage below the trim
// horizon Open clamps the horizon to LastVersion+1, so trimmedAt says
// the newest version itself is trimmed. A read of the latest must not
// wait for a commit that moves it (pinAt retried forever): View and
// ViewAt of the latest say ErrHistoryTrimmed, as View did before
// pinAt; HistoryFunc and ScanFunc read it, as History and Scan do.
func TestReview31PinLatestAfterSalvage(t *testing.T) {
	calls := map[string]func(db *DB) error{
		"View":        func(db *DB) error { return db.View(func(*Txn) error { return nil }) },
		"ViewAt":      func(db *DB) error { return db.ViewAt(db.LastVersion()+5, func(*Txn) error { return nil }) },
		"HistoryFunc": func(db *DB) error { return db.HistoryFunc("r", "k", 0, 0, func(Versioned) bool { return true }) },
		"ScanFunc":    func(db *DB) error { return db.ScanFunc("r", "", "", 0, func([]byte, Versioned) bool { return true }) },
	}
	for _, name := range []string{"View", "ViewAt", "HistoryFunc", "ScanFunc"} {
		t.Run(name, func(t *testing.T) {
			dir, _ := salvageBelowHorizonDir(t)
			db, err := Open(dir, &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1, Recovery: RecoverSalvage})
			require.NoError(t, err)
			defer db.Close()
			require.Greater(t, db.trimmed.Load(), db.visible.Load(), "the salvage must leave the horizon above the newest version")
			err = calls[name](db) // before pinAt's fix, this never returned
			if name == "View" || name == "ViewAt" {
				require.ErrorIs(t, err, ErrHistoryTrimmed)
			} else {
				require.NoError(t, err)
			}
		})
	}
}
