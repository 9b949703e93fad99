package kv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// TestReview49GetAtBeforeKeyWasBornIsNotFound: API.md, GetAt: "Absent as
// of at: ErrNotFound. When compaction has dropped the version that
// answered at: ErrHistoryTrimmed." Key b is first written at v2, after
// v1; compaction (KeepVersions 1) drops b's v2, which answered reads at
// v2 only. At v1 b was absent, and nothing compaction dropped answered
// v1, so GetAt(b, v1) must say ErrNotFound; it says ErrHistoryTrimmed,
// in the same process as the compaction (README's limitation names only
// answers after a reopen; it says what was dropped since Open is exact).
func TestReview49GetAtBeforeKeyWasBornIsNotFound(t *testing.T) {
	db, err := kv.Open(t.TempDir(), &kv.Options{Retention: kv.Retention{KeepVersions: 1}, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	v1, err := db.Put("r", "a", kv.Int(1))
	require.NoError(t, err)
	v2, err := db.Put("r", "b", kv.Int(1)) // b is born at v2
	require.NoError(t, err)
	_, err = db.Put("r", "b", kv.Int(2))
	require.NoError(t, err)

	_, err = db.GetAt("r", "b", v1)
	require.ErrorIs(t, err, kv.ErrNotFound, "before the compaction")
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 1, st.VersionsDropped, "b's v2")

	_, err = db.GetAt("r", "b", v2)
	require.ErrorIs(t, err, kv.ErrHistoryTrimmed, "v2 answered this, and was dropped")
	_, err = db.GetAt("r", "b", v1)
	require.ErrorIs(t, err, kv.ErrNotFound, "b did not exist at v1: no dropped version answered v1")
}
