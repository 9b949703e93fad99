package kv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A checkpoint, and a read-only Open of it, answer GetAt as the database
// did (Vanished carried by the checkpoint's manifest), or more cautiously:
// where the database, which knows which keys it dropped versions of
// since its Open, says ErrNotFound below the horizon, the checkpoint's
// Open knows only the horizon and may say ErrHistoryTrimmed (never the
// other way round).
func TestReview43CheckpointKeepsVanished(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 300, CompactAt: -1, Retention: Retention{KeepVersions: 1}})
	require.NoError(t, err)
	defer db.Close()
	for i := range 30 {
		k := fmt.Sprintf("k%d", i%7)
		mustPut(t, db, "r", k, Int(int64(i)))
		if i%4 == 0 {
			_, err := db.Delete("r", k)
			require.NoError(t, err)
		}
	}
	_, err = db.Compact(context.Background())
	require.NoError(t, err)
	mustPut(t, db, "r", "late", Int(1))
	cp := filepath.Join(t.TempDir(), "cp")
	v, err := db.Checkpoint(cp)
	require.NoError(t, err)
	answer := func(db *DB, k string, at Version) string {
		got, err := db.GetAt("r", k, at)
		switch {
		case err == nil:
			return fmt.Sprint(got.Version, got.Value)
		case errors.Is(err, ErrNotFound):
			return "notfound"
		case errors.Is(err, ErrHistoryTrimmed):
			return "trimmed"
		}
		return err.Error()
	}
	for _, ro := range []bool{true, false} {
		c, err := Open(cp, &Options{ReadOnly: ro, CompactAt: -1})
		require.NoError(t, err)
		for i := range 9 {
			k := fmt.Sprintf("k%d", i)
			for at := Version(1); at <= v; at++ {
				want, got := answer(db, k, at), answer(c, k, at)
				if want == "notfound" && got == "trimmed" {
					continue
				}
				require.Equal(t, want, got, "%s@%d read-only %v", k, at, ro)
			}
		}
		require.NoError(t, c.Close())
	}
}
