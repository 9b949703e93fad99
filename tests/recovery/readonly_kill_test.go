package recovery_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
	"github.com/stretchr/testify/require"
)

// A kill -9 image of a freshly opened database with default options,
// opened read-only: Stats should describe its versions, not the space the
// writer reserved.
func TestReadOnlyStatsOfKillImage(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{SyncInterval: time.Hour})
	require.NoError(t, err)
	defer db.Close()
	for i := 0; i < 10; i++ {
		_, err := db.Put("r", fmt.Sprintf("k%d", i), kv.Int(int64(i)))
		require.NoError(t, err)
	}
	live := db.Stats().LiveBytes
	img := kvtest.CopyDir(t, dir)

	start := time.Now()
	ro, err := kv.Open(img, &kv.Options{ReadOnly: true})
	require.NoError(t, err)
	t.Logf("read-only open took %v", time.Since(start))
	defer ro.Close()
	st := ro.Stats()
	t.Logf("writer LiveBytes %d, read-only LiveBytes %d", live, st.LiveBytes)
	require.Less(t, st.LiveBytes, live+4096, "LiveBytes counts the reserved zeros")
}
