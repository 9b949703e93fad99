package kv

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReview32UpdatePanicLeaksPin (older than the visits): Update pinned
// its snapshot and removed the pin after runTxn without a defer, so a
// panic in fn (recovered by the caller) left the pin forever, and
// compaction never again dropped anything superseded after it.
func TestReview32UpdatePanicLeaksPin(t *testing.T) {
	db := openT(t, &Options{Retention: Retention{KeepVersions: 1}, CompactAt: -1, SegmentSize: 4 << 10})
	mustPut(t, db, DefaultRun, "k", Int(1))
	func() {
		defer func() { recover() }()
		db.Update(func(tx *Txn) error { panic("boom") })
	}()
	// Control: View's and HistoryFunc's pins (pinAt) survive a panic in fn.
	func() {
		defer func() { recover() }()
		db.View(func(tx *Txn) error { panic("boom") })
	}()
	func() {
		defer func() { recover() }()
		db.HistoryFunc(DefaultRun, "k", 0, 0, func(Versioned) bool { panic("boom") })
	}()
	require.Equal(t, uint64(math.MaxUint64), db.pins.oldest(), "a pin is left: %v", db.pins.n)
}

// TestReview32SalvageCompactTrimsNewCommits (pre-existing, not from
// 1aab837; it is the case pinAt's "a salvage can leave the horizon above
// it" covers): Open clamps db.trimmed to LastVersion+1 after a salvage
// below the horizon, but writes the unclamped horizon into the manifest
// (db.go: Manifest{Trimmed: res.Trimmed}), and the first compaction
// raises db.trimmed to it (compactRun: max(m.Trimmed, res.Trimmed)). The
// horizon then sits above versions committed after the salvage, whose
// reads need nothing compaction dropped: View of the latest and ViewAt
// of it say ErrHistoryTrimmed (API.md allows it only when retention
// trimmed what the snapshot needs), until commits pass the old horizon.
func TestReview32SalvageCompactTrimsNewCommits(t *testing.T) {
	dir, _ := salvageBelowHorizonDir(t)
	db, err := Open(dir, &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1, Recovery: RecoverSalvage})
	require.NoError(t, err)
	defer db.Close()
	for i := 0; i < 3; i++ {
		mustPut(t, db, "r", "z", String(fmt.Sprint(i))) // new key, after the salvage
	}
	require.NoError(t, db.View(func(*Txn) error { return nil }), "before the compaction")
	rollNow(t, db)
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	t.Logf("compaction dropped %d versions (z's two older ones); visible %d, horizon %d", st.VersionsDropped, db.visible.Load(), db.trimmed.Load())
	require.NoError(t, db.View(func(tx *Txn) error {
		v, ok, err := tx.Get("r", "z")
		require.True(t, ok)
		require.Equal(t, String("2"), v.Value)
		return err
	}), "View of the latest after a compaction that dropped only z's superseded versions")
	require.NoError(t, db.ViewAt(db.LastVersion(), func(*Txn) error { return nil }), "ViewAt of the latest")
}
