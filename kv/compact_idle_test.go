package kv

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lookWalks runs one background look (holdBackground must have been
// called) and returns how many walks of the index it took.
func lookWalks(db *DB) int64 {
	w := db.compact.walks.Load()
	db.backgroundPass()
	return db.compact.walks.Load() - w
}

// An idle database with a retention policy does not walk its whole index
// at every background look: a look at the state in which the last one
// found nothing to compact skips the walk, and a commit, a snapshot
// released, a fork or a compaction makes the next look walk again.
func TestBackgroundLookSkipsAnIdleDatabase(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 64 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	for i := range 50 {
		mustPut(t, db, "r", fmt.Sprintf("k%d", i), Int(int64(i)))
	}
	require.EqualValues(t, 1, lookWalks(db), "the first look walks")
	require.EqualValues(t, 0, lookWalks(db), "nothing changed")
	require.EqualValues(t, 0, lookWalks(db), "nothing changed")

	mustPut(t, db, "r", "k1", Int(100))
	require.EqualValues(t, 1, lookWalks(db), "after a commit")
	require.EqualValues(t, 0, lookWalks(db))

	// A snapshot held while a commit lands pins the version it reads;
	// its release lets more go, with no commit.
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- db.View(func(tx *Txn) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	mustPut(t, db, "r", "k2", Int(200))
	require.EqualValues(t, 1, lookWalks(db), "after a commit under a snapshot")
	require.EqualValues(t, 0, lookWalks(db), "the snapshot still held")
	close(release)
	require.NoError(t, <-done)
	require.EqualValues(t, 1, lookWalks(db), "after the snapshot's release")
	require.EqualValues(t, 0, lookWalks(db))

	_, err := db.ForkRun("r", "fork", 0)
	require.NoError(t, err)
	require.EqualValues(t, 1, lookWalks(db), "after a fork")
	require.EqualValues(t, 0, lookWalks(db))
}

// With KeepFor, versions age out while nothing changes: every look walks.
func TestBackgroundLookWalksWithKeepFor(t *testing.T) {
	db := openT(t, &Options{Retention: Retention{KeepFor: time.Hour}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	mustPut(t, db, "r", "k", Int(1))
	mustPut(t, db, "r", "k", Int(2))
	require.EqualValues(t, 1, lookWalks(db))
	require.EqualValues(t, 1, lookWalks(db), "KeepFor: versions age out with time alone")
}

// A look that compacts leaves no idle state: the next look walks (and
// finds the segments compacted).
func TestBackgroundLookAfterACompaction(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.5})
	holdBackground(db)
	defer func() { <-db.compact.sem }()
	fillDeadSegments(t, db)
	before := db.Stats().DeadBytes
	require.Positive(t, before)
	require.EqualValues(t, 1, lookWalks(db), "the look that compacts")
	require.Less(t, db.Stats().DeadBytes, before, "it compacted")
	require.EqualValues(t, 1, lookWalks(db), "the next look walks: the segments changed")
	require.EqualValues(t, 0, lookWalks(db), "then nothing changed")
}
