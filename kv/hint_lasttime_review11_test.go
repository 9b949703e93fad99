package kv

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/segment"
)

// Review 11: dad0f63 makes recovery take a hint whose entry holds a
// timestamp beyond what the index holds for a bad hint (rebuilt from its
// segment, TestHintTimestampBeyondTheIndexIsABadHintReview10). The
// hint's header carries a timestamp too, LastTime, which recovery takes
// as is into Result.LastTimestamp (fromHint: max with h.hd.LastTime),
// and Open makes it the pipeline's lastTS: commits never take a time
// below it. Nothing checks it (hintRule, verify, indexable): a hint whose
// checksum holds with a LastTime past 2255 opens fine, and then runGroup
// refuses every commit, for ever (each Open reads the same hint), with
// "the clock reads 2255-..." though the clock is right. Before dad0f63
// the same hint made the first commit fail the database (index.ErrRange
// from Add). The segment is sound: the hint should be bad, and rebuilt.
func TestReview11HintLastTimeBeyondTheIndex(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 4096, CompactAt: -1})
	require.NoError(t, err)
	for i := range 20 {
		mustPut(t, db, "r", "k", Int(int64(i)))
	}
	require.NoError(t, db.Close())
	hints := hintFiles(t, dir)
	require.NotEmpty(t, hints)
	last := hints[len(hints)-1]
	good, err := os.ReadFile(last)
	require.NoError(t, err)
	hr, err := segment.NewHintReader(good)
	require.NoError(t, err)
	es, err := hr.All()
	require.NoError(t, err)
	hd := hr.Header()
	hd.LastTime = index.MaxTimestamp + 1
	require.NoError(t, os.WriteFile(last, segment.EncodeHint(hd, es), 0o644))

	db, err = Open(dir, &Options{SegmentSize: 4096, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	require.Equal(t, Int(19), mustGet(t, db, "r", "k").Value)
	_, err = db.Put("r", "k", Int(20))
	require.NoError(t, err, "the clock is right and every segment sound: a commit should go through")
}
