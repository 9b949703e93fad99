package kv

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// A database opened for a few writes at a time, with the default
// SegmentSize, merged as the change intends (a look, or Compact, after
// each Open): a merge's output stays small (under a quarter of
// SegmentSize, 16 MiB) and joins the next run of small segments, so
// every 15 Opens the whole database is rewritten again. The first
// Open's commits are rewritten once per 15 Opens, without bound until
// the database reaches 16 MiB, and the bytes merges rewrite grow with
// the square of the bytes written. Fixed: a merge's output, a compacted
// segment, is not merged again (each byte is rewritten once).
func TestReview39MergeRewritesTheSameDataAgainAndAgain(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{CompactAt: -1} // the default SegmentSize, 64 MiB
	db, err := openMem(t, mem, opts)
	require.NoError(t, err)
	defer db.Close()
	const opens = 600
	val := make([]byte, 1000)
	for i := range val {
		val[i] = byte(i*7 + i/13)
	}
	var written, rewritten int64
	firstRewritten := 0 // merges whose inputs held version 1
	for i := range opens {
		// An Open's worth of writes, then its segment is sealed (as the
		// next Open would leave it).
		mustPut(t, db, "r", fmt.Sprintf("k%04d", i), Bytes(val))
		require.NoError(t, db.commit(&commitReq{roll: true}))
		db.set.mu.Lock()
		segs := append([]segmentInfoCopy(nil), copyInfos(db)...)
		db.set.mu.Unlock()
		written += segs[len(segs)-1].size - 56

		st, err := db.Compact(context.Background())
		require.NoError(t, err)
		if st.SegmentsIn == 0 {
			continue
		}
		db.set.mu.Lock()
		after := map[uint32]bool{}
		for _, s := range db.set.man.Segments {
			after[s.ID] = true
		}
		db.set.mu.Unlock()
		for _, s := range segs {
			if !after[s.id] {
				rewritten += s.size
				if s.base == 1 {
					firstRewritten++
				}
			}
		}
	}
	t.Logf("%d opens: %d bytes written, %d rewritten by merges (%.1fx); version 1 rewritten %d times; %d segments",
		opens, written, rewritten, float64(rewritten)/float64(written), firstRewritten, db.Stats().Segments)
	require.LessOrEqual(t, firstRewritten, 10, "the first Open's commits rewritten once every 15 Opens")
	require.LessOrEqual(t, rewritten, 10*written, "write amplification of merges")
}

type segmentInfoCopy struct {
	id         uint32
	base, size int64
}

func copyInfos(db *DB) []segmentInfoCopy {
	var out []segmentInfoCopy
	for _, s := range db.set.man.Segments {
		out = append(out, segmentInfoCopy{s.ID, int64(s.Base), s.Size})
	}
	return out
}
