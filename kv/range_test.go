package kv_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

func openTemp(t *testing.T) *kv.DB {
	t.Helper()
	db, err := kv.Open(t.TempDir(), &kv.Options{SegmentSize: 4 << 10})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// rangeAll pages through a Range with the given page size.
func rangeAll(t *testing.T, db *kv.DB, run kv.RunID, r kv.RangeOptions) []string {
	t.Helper()
	var keys []string
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10000, "paging must end")
		p, err := db.Range(run, r)
		require.NoError(t, err)
		for _, e := range p.Entries {
			keys = append(keys, e.Key)
		}
		if p.Cursor == "" {
			return keys
		}
		require.NotEmpty(t, p.Entries, "a page with a cursor lists keys")
		r.Cursor = p.Cursor
	}
}

// Range lists exactly the live keys of [Start, End), forward or backward,
// with their newest values, in pages of any size.
func TestRangeBoundsAndPaging(t *testing.T) {
	db := openTemp(t)
	live := map[string]int64{}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		k := fmt.Sprintf("k%03d", r.IntN(150))
		if r.IntN(4) == 0 {
			_, err := db.Delete("a", k)
			require.NoError(t, err)
			delete(live, k)
			continue
		}
		_, err := db.Put("a", k, kv.Int(int64(i)))
		require.NoError(t, err)
		live[k] = int64(i)
		_, err = db.Put("b", k, kv.Int(-1)) // another run, never listed
		require.NoError(t, err)
	}
	want := func(start, end string, reverse bool) []string {
		var out []string
		for k := range live {
			if k >= start && (end == "" || k < end) {
				out = append(out, k)
			}
		}
		slices.Sort(out)
		if reverse {
			slices.Reverse(out)
		}
		return out
	}
	bounds := []string{"", "k000", "k050", "k0505", "k100", "k149", "k2"}
	for _, start := range bounds {
		for _, end := range bounds {
			if end != "" && start > end {
				continue
			}
			for _, reverse := range []bool{false, true} {
				for _, limit := range []int{0, 1, 3, 7, 1000} {
					opts := kv.RangeOptions{Start: start, End: end, Reverse: reverse, Limit: limit}
					require.Equal(t, want(start, end, reverse), rangeAll(t, db, "a", opts), "%+v", opts)
				}
			}
		}
	}
	p, err := db.Range("a", kv.RangeOptions{Start: "k050", Limit: 5})
	require.NoError(t, err)
	for _, e := range p.Entries {
		require.EqualValues(t, live[e.Key], must(e.Value.AsInt()))
		require.NotZero(t, e.Version)
	}
}

func must[T any](v T, _ bool) T { return v }

// Bad input gets ErrInvalidKey or ErrInvalidRun, and a cursor works only
// with the options that made it.
func TestRangeRefusesBadInput(t *testing.T) {
	db := openTemp(t)
	for i := range 10 {
		_, err := db.Put("a", fmt.Sprintf("k%d", i), kv.Int(int64(i)))
		require.NoError(t, err)
	}
	_, err := db.Range("a", kv.RangeOptions{Start: "z", End: "a"})
	require.ErrorIs(t, err, kv.ErrInvalidKey)
	_, err = db.Range("", kv.RangeOptions{})
	require.ErrorIs(t, err, kv.ErrInvalidRun)
	_, err = db.Range("a", kv.RangeOptions{Start: "a\x00b"})
	require.ErrorIs(t, err, kv.ErrInvalidKey)
	p, err := db.Range("a", kv.RangeOptions{Limit: 2})
	require.NoError(t, err)
	require.NotEmpty(t, p.Cursor)
	for _, other := range []kv.RangeOptions{{Limit: 2, Reverse: true}, {Limit: 2, Start: "k1"}, {Limit: 2, End: "k9"}} {
		other.Cursor = p.Cursor
		_, err = db.Range("a", other)
		require.ErrorIs(t, err, kv.ErrInvalidKey, "%+v", other)
	}
	_, err = db.Range("b", kv.RangeOptions{Limit: 2, Cursor: p.Cursor})
	require.ErrorIs(t, err, kv.ErrInvalidKey, "another run")
	_, err = db.Scan("a", "", 2, p.Cursor)
	require.ErrorIs(t, err, kv.ErrInvalidKey, "a Range cursor is not a Scan cursor")
	_, err = db.Range("a", kv.RangeOptions{Limit: 2, Cursor: "bm9uc2Vuc2U"})
	require.ErrorIs(t, err, kv.ErrInvalidKey)
	p, err = db.Range("a", kv.RangeOptions{Start: "k3", End: "k3"})
	require.NoError(t, err)
	require.Empty(t, p.Entries, "an empty interval")
	require.Empty(t, p.Cursor)
}

// Paging while other keys are written and deleted visits every key that
// stays live throughout exactly once, in order, in both directions.
func TestRangePagingUnderWrites(t *testing.T) {
	db := openTemp(t)
	for i := range 100 {
		_, err := db.Put("a", fmt.Sprintf("s%03d", i), kv.Int(int64(i))) // stable keys
		require.NoError(t, err)
	}
	for _, reverse := range []bool{false, true} {
		opts := kv.RangeOptions{Reverse: reverse, Limit: 7}
		var got []string
		for n := 0; ; n++ {
			p, err := db.Range("a", opts)
			require.NoError(t, err)
			for _, e := range p.Entries {
				if e.Key[0] == 's' {
					got = append(got, e.Key)
				}
			}
			// Churn around the cursor: new keys before and after it, and
			// deletions of keys that come and go.
			_, err = db.Put("a", fmt.Sprintf("s%03d-x%d", n*7%100, n), kv.Int(0))
			require.NoError(t, err)
			_, err = db.Delete("a", fmt.Sprintf("s%03d-x%d", (n*13)%100, n-1))
			require.NoError(t, err)
			if p.Cursor == "" {
				break
			}
			opts.Cursor = p.Cursor
		}
		var stable []string
		for _, k := range got {
			if len(k) == 4 {
				stable = append(stable, k)
			}
		}
		want := make([]string, 100)
		for i := range want {
			want[i] = fmt.Sprintf("s%03d", i)
		}
		if reverse {
			slices.Reverse(want)
		}
		require.Equal(t, want, stable, "reverse %v", reverse)
		for _, k := range got {
			_, err := db.Delete("a", k)
			require.NoError(t, err)
		}
		for i := range 100 {
			_, err := db.Put("a", fmt.Sprintf("s%03d", i), kv.Int(int64(i)))
			require.NoError(t, err)
		}
	}
}

// In an Update, a Range joins the read set as the interval it covered: a
// commit that inserts into it (the phantom), deletes from it or changes a
// key in it makes the transaction conflict; one outside it does not.
func TestTxnRangeConflicts(t *testing.T) {
	db := openTemp(t)
	for _, k := range []string{"b", "d", "f", "h"} {
		_, err := db.Put("a", k, kv.Int(1))
		require.NoError(t, err)
	}
	try := func(opts kv.RangeOptions, meanwhile func()) error {
		_, err := db.Update(func(tx *kv.Txn) error {
			if _, err := tx.Range("a", opts); err != nil {
				return err
			}
			meanwhile()
			return tx.Put("a", "result", kv.Int(1))
		})
		return err
	}
	put := func(k string) func() {
		return func() {
			_, err := db.Put("a", k, kv.Int(2))
			require.NoError(t, err)
		}
	}
	del := func(k string) func() {
		return func() {
			_, err := db.Delete("a", k)
			require.NoError(t, err)
		}
	}
	c := kv.RangeOptions{Start: "c", End: "g"}
	require.ErrorIs(t, try(c, put("e")), kv.ErrConflict, "the phantom: a key inserted into the range")
	require.ErrorIs(t, try(c, del("d")), kv.ErrConflict, "a key deleted from the range")
	require.ErrorIs(t, try(c, put("f")), kv.ErrConflict, "a key in the range changed")
	require.NoError(t, try(c, put("g")), "the end is outside")
	require.NoError(t, try(c, put("b")), "before the start")
	require.NoError(t, try(c, put("zz")))
	_, err := db.Put("a", "e", kv.Int(3))
	require.NoError(t, err)
	rev := kv.RangeOptions{Start: "c", End: "g", Reverse: true}
	require.ErrorIs(t, try(rev, put("c")), kv.ErrConflict, "the start is inside")
	require.NoError(t, try(rev, put("g")))
	// A page covers only up to its last key: [c, c] here, for a page of 1
	// from c (c is there now).
	one := kv.RangeOptions{Start: "c", End: "g", Limit: 1}
	require.NoError(t, try(one, put("c0")), "after the page's last key: not read")
	require.ErrorIs(t, try(one, put("c")), kv.ErrConflict, "the page's key")
	// The same page backwards covers [f, g).
	oneRev := kv.RangeOptions{Start: "c", End: "g", Limit: 1, Reverse: true}
	require.NoError(t, try(oneRev, put("ee")), "below the page's last key")
	require.ErrorIs(t, try(oneRev, put("f5")), kv.ErrConflict)
	// Read-only transactions never conflict.
	require.NoError(t, db.View(func(tx *kv.Txn) error {
		_, err := tx.Range("a", c)
		return err
	}))
}

// A transaction's Range sees its own writes and deletions.
func TestTxnRangeSeesOwnWrites(t *testing.T) {
	db := openTemp(t)
	for _, k := range []string{"a", "c", "e"} {
		_, err := db.Put("r", k, kv.Int(1))
		require.NoError(t, err)
	}
	_, err := db.Update(func(tx *kv.Txn) error {
		require.NoError(t, tx.Put("r", "b", kv.Int(2)))
		_, err := tx.Delete("r", "c")
		require.NoError(t, err)
		require.NoError(t, tx.Put("r", "z", kv.Int(2)))
		for _, reverse := range []bool{false, true} {
			var keys []string
			opts := kv.RangeOptions{End: "e", Reverse: reverse, Limit: 1}
			for {
				p, err := tx.Range("r", opts)
				require.NoError(t, err)
				for _, e := range p.Entries {
					keys = append(keys, e.Key)
					if e.Key == "b" {
						require.Zero(t, e.Version, "a pending write has no version yet")
					}
				}
				if p.Cursor == "" {
					break
				}
				opts.Cursor = p.Cursor
			}
			want := []string{"a", "b"}
			if reverse {
				want = []string{"b", "a"}
			}
			require.Equal(t, want, keys)
		}
		return nil
	})
	require.NoError(t, err)
}

// Runs lists the runs that hold a live key.
func TestRuns(t *testing.T) {
	db := openTemp(t)
	runs, err := db.Runs()
	require.NoError(t, err)
	require.Empty(t, runs)
	for _, r := range []kv.RunID{"zeta", "alpha", "mid"} {
		_, err := db.Put(r, "k", kv.Int(1))
		require.NoError(t, err)
	}
	_, err = db.Delete("mid", "k")
	require.NoError(t, err)
	runs, err = db.Runs()
	require.NoError(t, err)
	require.Equal(t, []kv.RunID{"alpha", "zeta"}, runs)
	require.NoError(t, db.Close())
	_, err = db.Runs()
	require.ErrorIs(t, err, kv.ErrClosed)
}

func TestWaitFor(t *testing.T) {
	db := openTemp(t)
	v, err := db.Put("r", "k", kv.Int(1))
	require.NoError(t, err)
	require.NoError(t, db.WaitFor(t.Context(), v), "already there")
	require.NoError(t, db.WaitFor(t.Context(), 0))

	seen := make(chan kv.Version, 1)
	go func() {
		err := db.WaitFor(t.Context(), v+2)
		if err != nil {
			t.Error(err)
		}
		seen <- db.LastVersion() // what it returned at, at the least
	}()
	_, err = db.Put("r", "k", kv.Int(2))
	require.NoError(t, err)
	select {
	case got := <-seen:
		t.Fatalf("returned at version %d, before %d", got, v+2)
	case <-time.After(10 * time.Millisecond): // (a check that it waits; passing does not depend on it)
	}
	_, err = db.Put("r", "k", kv.Int(3))
	require.NoError(t, err)
	require.GreaterOrEqual(t, <-seen, v+2)

	done := make(chan error, 1)

	ctx, cancel := context.WithCancel(t.Context())
	go func() { done <- db.WaitFor(ctx, 1000) }()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	go func() { done <- db.WaitFor(t.Context(), 1000) }()
	require.NoError(t, db.Close())
	err = <-done
	require.True(t, errors.Is(err, kv.ErrClosed), "%v", err)
	require.ErrorIs(t, db.WaitFor(t.Context(), 1000), kv.ErrClosed)
}
