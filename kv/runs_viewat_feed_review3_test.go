package kv_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

func TestReview3HoldsViewAtIsolationAndFeedReplay(t *testing.T) {
	db, err := kv.Open(t.TempDir(), &kv.Options{SegmentSize: 300, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	r3put(t, db, "dst", "p/old", kv.Int(1))
	r3put(t, db, "dst", "q", kv.Int(1))
	for i := 0; i < 5; i++ {
		r3put(t, db, "src", fmt.Sprintf("p/%d", i), kv.Int(int64(i)))
	}
	_, err = db.Delete("dst", "q")
	require.NoError(t, err)
	_, err = db.DropRun("dst")
	require.NoError(t, err)
	before := db.LastVersion()
	state := func(at kv.Version) string {
		out := ""
		require.NoError(t, db.ViewAt(at, func(tx *kv.Txn) error {
			for _, run := range []kv.RunID{"src", "dst"} {
				ks, err := tx.Keys(run, "", 0)
				require.NoError(t, err)
				pg, err := tx.Range(run, kv.RangeOptions{Reverse: true, Limit: 100})
				require.NoError(t, err)
				sc, err := tx.Scan(run, "p/", 0, "")
				require.NoError(t, err)
				out += fmt.Sprint(run, ks, pg, sc)
			}
			return nil
		}))
		return out
	}
	sBefore := state(before)
	fork, err := db.ForkRun("src", "dst", 0)
	require.NoError(t, err)
	sFork := state(fork)
	_, err = db.DropRun("src")
	require.NoError(t, err)
	r3put(t, db, "dst", "p/9", kv.Int(9))
	require.Equal(t, sBefore, state(before))
	require.Equal(t, sFork, state(fork))

	// feed replay of dst under prefix p/ reproduces dst's p/ keys at each version
	feed := map[string]kv.Value{}
	after := kv.Version(0)
	for {
		cs, err := db.Changes("dst", "p/", after, 2)
		require.NoError(t, err)
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			if c.Deleted {
				delete(feed, c.Key)
			} else {
				feed[c.Key] = c.Value
			}
		}
		after = cs[len(cs)-1].Version
	}
	pg, err := db.Scan("dst", "p/", 0, "")
	require.NoError(t, err)
	want := map[string]kv.Value{}
	for _, e := range pg.Entries {
		want[e.Key] = e.Value
	}
	require.Equal(t, fmt.Sprint(want), fmt.Sprint(feed))
	_ = context.Background
}
