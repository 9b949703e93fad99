package kv

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// API.md, Additions: "Damage to bytes that were fsynced is corruption in
// every mode but RecoverSalvage"; DESIGN.md: "Damage to fsynced bytes is
// corruption ... Never silently skip data". DB.Sync's doc: "Sync makes
// every acknowledged commit durable now (fsync)". After Sync returned
// nil, a process crash (no Close), then a flipped bit in a commit that
// Sync made durable, Open must fail with ErrCorrupt, as it does when the
// background sync made it durable (TestBackgroundSyncMarkerProvesDurableCommits);
// it must not cut that commit, and the one after it, as a torn tail.
func TestReview35DamageToCommitsAnExplicitSyncMadeDurableIsCorruption(t *testing.T) {
	mem := vfs.NewMem()
	db, err := openMem(t, mem, Options{Durability: Buffered, SyncInterval: time.Hour})
	require.NoError(t, err)
	mustPut(t, db, "r", "a", Int(1))
	mustPut(t, db, "r", "b", Int(2))
	mustPut(t, db, "r", "c", Int(3))
	require.NoError(t, db.Sync())
	img := mem.CrashClone(1) // kill -9 after Sync returned: no Close, no closing marker
	require.NoError(t, db.Close())
	damageCommit(t, img, 2) // the commit of b, fsynced by Sync

	db2, err := openMem(t, img, Options{})
	if err == nil {
		t.Logf("opened at version %d; report: %s", db2.LastVersion(), db2.Recovery())
		db2.Close()
	}
	require.ErrorIs(t, err, ErrCorrupt, "Sync made the damaged commit durable: not a torn tail")
}
