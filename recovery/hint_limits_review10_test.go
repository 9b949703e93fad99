package recovery

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// Review 10: a hint file whose checksum holds but whose record breaks a
// rule is a bad hint: recovery drops it, scans the segment and rebuilds
// the hint (TestBadHintsAreRebuilt: "records out of order, checksum
// right"). The index now refuses timestamps outside 0..MaxTimestamp, and
// nothing checks a hint's timestamps against that before build() hands
// them to the Builder: a hint of a sound segment holding one such
// timestamp makes build fail with ErrRange, which pass returns as is, so
// Open fails instead of rebuilding the hint. (Before this commit the
// index took any timestamp: such a hint could not fail a recovery.)
func TestHintTimestampBeyondTheIndexIsABadHintReview10(t *testing.T) {
	for name, ts := range map[string]int64{
		"past 2255":     index.MaxTimestamp + 1,
		"before 1970":   -1,
		"far in future": 1 << 62,
	} {
		t.Run(name, func(t *testing.T) {
			fs := vfs.NewMem()
			writeSegments(t, fs, 3, 5, closed)
			want, res, _ := recoverLogged(t, fs, Options{})
			res.Close()
			good := fileBytes(t, fs, dir+"/"+segment.HintName(2))

			hr, err := segment.NewHintReader(good)
			require.NoError(t, err)
			es, err := hr.All()
			require.NoError(t, err)
			es[len(es)-1].Timestamp = ts
			rewrite(t, fs, dir+"/"+segment.HintName(2), segment.EncodeHint(hr.Header(), es))

			ix, res, err := runRecovery(t, fs, Options{})
			require.NoError(t, err, "the segment is sound: its hint should be rebuilt, not Open refused")
			res.Close()
			require.Equal(t, dump(want), dump(ix))
			require.Equal(t, good, fileBytes(t, fs, dir+"/"+segment.HintName(2)), "rebuilt as it was")
		})
	}
}
