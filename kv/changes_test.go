package kv_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// logged is a write as its writer saw it acknowledged.
type logged struct {
	run     kv.RunID
	key     string
	v       kv.Version
	value   int64
	deleted bool
}

// writeLog writes n random puts, deletes and batches to runs a and b
// (keys k00..k29) and returns them in version order.
func writeLog(t *testing.T, db *kv.DB, seed uint64, n int) []logged {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	var log []logged
	for i := range n {
		run := kv.RunID([]string{"a", "b"}[r.IntN(2)])
		k := fmt.Sprintf("k%02d", r.IntN(30))
		switch r.IntN(5) {
		case 0:
			ok, err := db.Delete(run, k)
			require.NoError(t, err)
			if ok {
				log = append(log, logged{run, k, db.LastVersion(), 0, true})
			}
		case 1:
			k2 := fmt.Sprintf("k%02d", r.IntN(30))
			v, err := db.MPut(run, []kv.KeyValue{{Key: k, Value: kv.Int(int64(i))}, {Key: k2, Value: kv.Int(int64(-i))}})
			require.NoError(t, err)
			if k2 == k {
				log = append(log, logged{run, k, v, int64(-i), false})
			} else {
				first, second := logged{run, k, v, int64(i), false}, logged{run, k2, v, int64(-i), false}
				if k2 < k {
					first, second = second, first // a commit's entries come in key order
				}
				log = append(log, first, second)
			}
		default:
			v, err := db.Put(run, k, kv.Int(int64(i)))
			require.NoError(t, err)
			log = append(log, logged{run, k, v, int64(i), false})
		}
	}
	return log
}

// expectChanges is what Changes(run, prefix, after, ∞) must return.
func expectChanges(log []logged, run kv.RunID, prefix string, after kv.Version) []logged {
	var out []logged
	for _, w := range log {
		if w.run == run && strings.HasPrefix(w.key, prefix) && w.v > after {
			out = append(out, w)
		}
	}
	return out
}

func sameChanges(t *testing.T, want []logged, got []kv.Change, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	for i, c := range got {
		w := want[i]
		require.Equal(t, w.key, c.Key, "%s: change %d", msg, i)
		require.Equal(t, w.v, c.Version, "%s: change %d", msg, i)
		require.Equal(t, w.deleted, c.Deleted, "%s: change %d", msg, i)
		if !w.deleted {
			n, ok := c.Value.AsInt()
			require.True(t, ok)
			require.Equal(t, w.value, n, "%s: change %d", msg, i)
		}
		require.False(t, c.Timestamp.IsZero())
	}
}

// Changes returns exactly the versions committed to a run under a prefix
// after a version, oldest first, across segments, in pages that follow
// on without a gap or a repeat; and so it does after a reopen.
func TestChanges(t *testing.T) {
	for _, size := range []int64{2 << 10, 1 << 20} { // many small segments; one with many marks
		t.Run(fmt.Sprint(size), func(t *testing.T) { testChanges(t, size) })
	}
}

func testChanges(t *testing.T, size int64) {
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{SegmentSize: size})
	require.NoError(t, err)
	log := writeLog(t, db, 1, 600)
	check := func(db *kv.DB) {
		for _, run := range []kv.RunID{"a", "b", "none"} {
			for _, prefix := range []string{"", "k1", "k29", "x"} {
				for _, after := range []kv.Version{0, 1, 77, 300, db.LastVersion() - 1, db.LastVersion(), db.LastVersion() + 5} {
					all, err := db.Changes(run, prefix, after, 1<<20)
					require.NoError(t, err)
					msg := fmt.Sprintf("Changes(%s, %q, %d)", run, prefix, after)
					sameChanges(t, expectChanges(log, run, prefix, after), all, msg)
					// In pages of 7.
					var paged []kv.Change
					for from := after; ; {
						page, err := db.Changes(run, prefix, from, 7)
						require.NoError(t, err)
						if len(page) == 0 {
							break
						}
						require.LessOrEqual(t, len(page), 7+1, "a page exceeds limit only by a commit's rest")
						paged = append(paged, page...)
						from = page[len(page)-1].Version
					}
					sameChanges(t, expectChanges(log, run, prefix, after), paged, msg+" in pages")
				}
			}
		}
	}
	check(db)
	require.NoError(t, db.Close())
	db, err = kv.Open(dir, &kv.Options{SegmentSize: size})
	require.NoError(t, err)
	defer db.Close()
	check(db)

	_, err = db.Changes("", "", 0, 0)
	require.ErrorIs(t, err, kv.ErrInvalidRun)
}

// A commit is never split between two pages, even when it alone holds
// more changes than the limit.
func TestChangesKeepsCommitsWhole(t *testing.T) {
	db := openTemp(t)
	var kvs []kv.KeyValue
	for i := range 10 {
		kvs = append(kvs, kv.KeyValue{Key: fmt.Sprintf("k%d", i), Value: kv.Int(int64(i))})
	}
	_, err := db.Put("r", "before", kv.Int(0))
	require.NoError(t, err)
	v, err := db.MPut("r", kvs)
	require.NoError(t, err)
	page, err := db.Changes("r", "", 0, 3)
	require.NoError(t, err)
	require.Len(t, page, 1, "the batch would overflow the page: it waits for the next")
	page, err = db.Changes("r", "", page[0].Version, 3)
	require.NoError(t, err)
	require.Len(t, page, 10, "a commit larger than the limit comes whole")
	for _, c := range page {
		require.Equal(t, v, c.Version)
	}
}

// Changes and WaitFor make a change feed that never skips or repeats a
// version while a writer writes, across a Close and an Open.
func TestChangeFeed(t *testing.T) {
	dir := t.TempDir()
	opts := &kv.Options{SegmentSize: 4 << 10}
	db, err := kv.Open(dir, opts)
	require.NoError(t, err)
	const total = 400
	var got []kv.Version
	after := kv.Version(0)
	follow := func(db *kv.DB, until kv.Version) {
		for after < until {
			cs, err := db.Changes("feed", "", after, 16)
			require.NoError(t, err)
			if len(cs) == 0 {
				require.NoError(t, db.WaitFor(t.Context(), after+1))
				continue
			}
			for _, c := range cs {
				got = append(got, c.Version)
			}
			after = cs[len(cs)-1].Version
		}
	}
	write := func(db *kv.DB, from, to int) {
		for i := from; i < to; i++ {
			_, err := db.Put("feed", fmt.Sprintf("k%d", i%37), kv.Int(int64(i)))
			require.NoError(t, err)
			_, err = db.Put("other", "x", kv.Int(int64(i))) // between the feed's versions
			require.NoError(t, err)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { write(db, 0, total/2) })
	follow(db, kv.Version(total-1)) // the first half: versions 1, 3, ..., 399 for the feed
	wg.Wait()
	require.NoError(t, db.Close())
	db, err = kv.Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	wg.Go(func() { write(db, total/2, total) })
	follow(db, kv.Version(2*total-1)) // the second: 401, ..., 799
	wg.Wait()
	require.Len(t, got, total)
	for i, v := range got {
		require.Equal(t, kv.Version(2*i+1), v, "change %d", i)
	}
}

// After compaction drops history, Changes after a version it may need
// says ErrHistoryTrimmed; from the trim horizon on it reads what the
// compacted segments hold.
func TestChangesAfterCompaction(t *testing.T) {
	db, err := kv.Open(t.TempDir(), &kv.Options{SegmentSize: 2 << 10, Retention: kv.Retention{KeepVersions: 1}, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	var log []logged
	for i := range 300 {
		k := fmt.Sprintf("k%d", i%10) // churn: history to drop
		v, err := db.Put("churn", k, kv.Int(int64(i)))
		require.NoError(t, err)
		log = append(log, logged{"churn", k, v, int64(i), false})
		if i%3 == 0 {
			k := fmt.Sprintf("u%03d", i) // written once: kept
			v, err := db.Put("feed", k, kv.Int(int64(i)))
			require.NoError(t, err)
			log = append(log, logged{"feed", k, v, int64(i), false})
		}
	}
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.Positive(t, st.VersionsDropped)
	_, err = db.Changes("feed", "", 0, 0)
	require.ErrorIs(t, err, kv.ErrHistoryTrimmed)
	// The trim horizon: the first version changes may be read from.
	horizon := kv.Version(1)
	for ; ; horizon++ {
		_, err := db.Changes("feed", "", horizon-1, 1)
		if err == nil {
			break
		}
		require.ErrorIs(t, err, kv.ErrHistoryTrimmed)
	}
	require.Greater(t, horizon, kv.Version(1))
	cs, err := db.Changes("feed", "", horizon-1, 1000)
	require.NoError(t, err)
	sameChanges(t, expectChanges(log, "feed", "", horizon-1), cs, "feed from the horizon")
	cs, err = db.Changes("churn", "", horizon-1, 1000)
	require.NoError(t, err)
	sameChanges(t, expectChanges(log, "churn", "", horizon-1), cs, "churn from the horizon: what compaction kept")

	// Diff reads values at both versions: from the read horizon on
	// (ViewAt's), which may lie above what Changes needs.
	_, err = db.Diff("feed", 1, db.LastVersion())
	require.ErrorIs(t, err, kv.ErrHistoryTrimmed)
	readable := kv.Version(1)
	for ; db.ViewAt(readable, func(*kv.Txn) error { return nil }) != nil; readable++ {
	}
	require.GreaterOrEqual(t, readable, horizon)
	d, err := db.Diff("feed", readable, db.LastVersion())
	require.NoError(t, err)
	require.Equal(t, len(expectChanges(log, "feed", "", readable)), len(d))
}

// Diff returns the keys whose value differs between two versions, in key
// order, with their version at the later one; a key changed and changed
// back, or deleted and written again with the same value, is not among
// them.
func TestDiff(t *testing.T) {
	db := openTemp(t)
	put := func(k string, x int64) kv.Version {
		v, err := db.Put("r", k, kv.Int(x))
		require.NoError(t, err)
		return v
	}
	del := func(k string) kv.Version {
		_, err := db.Delete("r", k)
		require.NoError(t, err)
		return db.LastVersion()
	}
	put("same", 1)
	put("changed", 1)
	put("back", 1)
	put("gone", 1)
	put("reborn", 1)
	from := put("other-run-noise", 0)
	_, err := db.Put("x", "changed", kv.Int(9)) // another run
	require.NoError(t, err)
	vChanged := put("changed", 2)
	put("back", 2)
	put("back", 1)
	vGone := del("gone")
	del("reborn")
	put("reborn", 1)
	vNew := put("new", 1)
	to := db.LastVersion()
	put("changed", 3) // after to

	d, err := db.Diff("r", from, to)
	require.NoError(t, err)
	var keys []string
	for _, c := range d {
		keys = append(keys, c.Key)
	}
	require.Equal(t, []string{"changed", "gone", "new"}, keys)
	require.Equal(t, vChanged, d[0].Version)
	require.True(t, kv.Int(2).Equal(d[0].Value))
	require.True(t, d[1].Deleted)
	require.Equal(t, vGone, d[1].Version)
	require.Equal(t, vNew, d[2].Version)

	rev, err := db.Diff("r", to, from)
	require.NoError(t, err)
	require.Len(t, rev, 3, "the same keys the other way round")
	require.True(t, rev[2].Deleted, "new is absent at from")
	require.Zero(t, rev[2].Version, "and never existed there")

	d, err = db.Diff("r", to, to)
	require.NoError(t, err)
	require.Empty(t, d)
	_, err = db.Diff("", 0, 1)
	require.ErrorIs(t, err, kv.ErrInvalidRun)
}

// Changes, Diff and WaitFor on a closed DB.
func TestChangesClosed(t *testing.T) {
	db := openTemp(t)
	require.NoError(t, db.Close())
	_, err := db.Changes("r", "", 0, 0)
	require.ErrorIs(t, err, kv.ErrClosed)
	_, err = db.Diff("r", 0, 1)
	require.ErrorIs(t, err, kv.ErrClosed)
	require.True(t, errors.Is(db.WaitFor(context.Background(), 1), kv.ErrClosed))
}

// While two writers write and compaction drops history, a feed that keeps
// up reads every change exactly once, each as written; one that falls
// behind the trim horizon is told so (ErrHistoryTrimmed), never given a
// wrong or partial answer.
func TestChangesUnderCompaction(t *testing.T) {
	db, err := kv.Open(t.TempDir(), &kv.Options{SegmentSize: 4 << 10, Retention: kv.Retention{KeepVersions: 1}, CompactAt: 0.1})
	require.NoError(t, err)
	defer db.Close()
	type w struct {
		key   string
		value int64
	}
	var mu sync.Mutex
	written := map[kv.Version]w{}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(t.Context())
	for n := range 2 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				k := fmt.Sprintf("w%d-%d", n, i%25)
				v, err := db.Put("r", k, kv.Int(int64(i)))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				written[v] = w{k, int64(i)}
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			if _, err := db.Compact(ctx); err != nil && ctx.Err() == nil {
				t.Error(err)
				return
			}
		}
	})
	after, trimmed := kv.Version(0), 0
	var got []kv.Change
	for len(got) < 3000 {
		cs, err := db.Changes("r", "", after, 50)
		if errors.Is(err, kv.ErrHistoryTrimmed) {
			trimmed++
			after = db.LastVersion() // start again from now
			continue
		}
		require.NoError(t, err)
		for _, c := range cs {
			require.Greater(t, c.Version, after, "oldest first, no repeats")
			after = c.Version
		}
		got = append(got, cs...)
	}
	cancel()
	wg.Wait()
	for _, c := range got { // (a version may be read before its writer logged it)
		want, ok := written[c.Version]
		require.True(t, ok, "version %d was acknowledged", c.Version)
		require.Equal(t, want.key, c.Key)
		n, _ := c.Value.AsInt()
		require.Equal(t, want.value, n)
	}
	t.Logf("%d changes read, %d times behind the trim horizon", len(got), trimmed)
}
