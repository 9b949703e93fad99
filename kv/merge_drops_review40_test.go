package kv

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// The README (Retention and compaction) says "A merge drops nothing, so
// no snapshot holds it back", and kv/doc.go "a merge drops nothing". But
// mergeSmall runs its jobs under policy(), Retention included ("dropping
// what Retention lets go of them, as any job does"), and the background
// look merges before, and whatever, CompactAt says of dead bytes: with
// KeepVersions 1, the look's merge of 16 small segments drops 15
// versions of a key written once per Open (CompactAt 1: no segment is
// all dead, so compactDead would have dropped none of them). (And as it
// drops, the pin check at the switch applies to it, as to any job: a
// snapshot taken while it runs makes it errPinned.) Fixed: a merge runs
// under a policy that keeps everything; what Retention lets go is left to
// compactDead and Compact.
func TestReview40MergeDropsUnderRetention(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 1 << 20, CompactAt: -1, Retention: Retention{KeepVersions: 1}}
	big := make([]byte, 2000)
	for i := range big {
		big[i] = byte(i*31 + i/7)
	}
	for i := range mergeMin {
		db, err := openMem(t, mem, opts)
		require.NoError(t, err)
		mustPut(t, db, "r", fmt.Sprintf("doc%02d", i), Bytes(big))
		mustPut(t, db, "r", "shared", Int(int64(i)))
		require.NoError(t, db.Close())
	}
	opts.CompactAt = 1 // background compaction on; only an all-dead segment is dead enough
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	defer db.Close()
	holdBackground(db)
	defer func() { <-db.compact.sem }()

	pol, err := db.policy()
	require.NoError(t, err)
	pick, _ := db.splitDead(db.deadBySegment(pol))
	require.Empty(t, pick, "no segment is dead enough for compactDead")

	st, err := db.mergeSmall(context.Background(), db.smallRuns(), nil) // what backgroundPass runs first
	require.NoError(t, err)
	h, err := db.History("r", "shared", 0, 0)
	require.NoError(t, err)
	t.Logf("the look's merge: %+v; shared keeps %d of %d versions", st, len(h), mergeMin)
	require.Zero(t, st.VersionsDropped, "README: a merge drops nothing")
	require.Len(t, h, mergeMin, "shared keeps every version")
	require.Equal(t, mergeMin, st.SegmentsIn, "the merge ran")
}
