package recovery_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
	"github.com/stretchr/testify/require"
)

// A writer copies frames into space it reserved ahead in the segment
// file, so a process that dies with the database open leaves its frames
// followed by zeros. Open must find every acknowledged commit, cut the
// zeros, call none of it torn, and the database must go on as usual; a
// clean Close leaves no reserved space behind.
func TestProcessDeathLeavesReservedSpaceThatOpenCuts(t *testing.T) {
	for _, mode := range []kv.Durability{kv.Buffered, kv.Strict} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			db, err := kv.Open(dir, &kv.Options{Durability: mode, SyncInterval: time.Hour, SegmentSize: 8 << 10})
			require.NoError(t, err)
			defer db.Close()
			for i := 0; i < 300; i++ { // several segments of 8 KiB
				_, err := db.Put("r", fmt.Sprintf("k%03d", i), kv.String(fmt.Sprintf("value %d with some padding to fill segments", i)))
				require.NoError(t, err)
			}
			require.Greater(t, db.Stats().Segments, 2)
			img := kvtest.CopyDir(t, dir) // what kill -9 leaves: the page cache's bytes

			db2, err := kv.Open(img, nil)
			require.NoError(t, err)
			rep := db2.Recovery()
			require.Zero(t, rep.TornBytes, "reserved zeros are not a torn write")
			require.Empty(t, rep.TornFile)
			require.Positive(t, rep.UnusedBytes)
			require.Empty(t, rep.String(), "nothing a user needs to hear about")
			require.EqualValues(t, 300, db2.LastVersion())
			for i := 0; i < 300; i += 37 {
				v, ok, err := db2.Get("r", fmt.Sprintf("k%03d", i))
				require.NoError(t, err)
				require.True(t, ok)
				require.Equal(t, kv.String(fmt.Sprintf("value %d with some padding to fill segments", i)), v.Value)
			}
			_, err = db2.Put("r", "after", kv.Int(1))
			require.NoError(t, err)
			require.NoError(t, db2.Close())

			// Closed cleanly: the files are their frames, nothing after.
			db3, err := kv.Open(img, nil)
			require.NoError(t, err)
			require.Zero(t, db3.Recovery().UnusedBytes)
			require.EqualValues(t, 301, db3.LastVersion())
			require.NoError(t, db3.Close())
		})
	}
}
