package kv

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// Range, forward and backward, paged at every size, against a model, in
// the DB and in a transaction with pending writes laid over it.
func TestReview2RangeModel(t *testing.T) {
	db := openT(t, nil)
	r := rand.New(rand.NewPCG(7, 9))
	model := map[string]bool{}
	for range 200 {
		k := fmt.Sprintf("k%02d", r.IntN(40))
		if r.IntN(4) == 0 {
			_, err := db.Delete("r", k)
			require.NoError(t, err)
			delete(model, k)
		} else {
			mustPut(t, db, "r", k, Int(1))
			model[k] = true
		}
	}
	mustPut(t, db, "q", "k10", Int(1)) // other runs around
	mustPut(t, db, "s", "k10", Int(1))
	bounds := []string{"", "k", "k00", "k05", "k10", "k105", "k20", "k39", "k4", "l"}
	want := func(m map[string]bool, start, end string, rev bool) []string {
		var out []string
		for k, ok := range m {
			if ok && k >= start && (end == "" || k < end) {
				out = append(out, k)
			}
		}
		sort.Strings(out)
		if rev {
			slices.Reverse(out)
		}
		return out
	}
	pageAll := func(get func(RangeOptions) (Page, error), o RangeOptions) []string {
		var out []string
		for i := 0; ; i++ {
			p, err := get(o)
			require.NoError(t, err)
			require.LessOrEqual(t, len(p.Entries), max(o.Limit, 1))
			for _, e := range p.Entries {
				out = append(out, e.Key)
			}
			if p.Cursor == "" {
				return out
			}
			require.Len(t, p.Entries, o.Limit, "a page with more after it is full")
			o.Cursor = p.Cursor
			require.Less(t, i, 1000)
		}
	}
	check := func(name string, m map[string]bool, get func(RangeOptions) (Page, error)) {
		for _, s := range bounds {
			for _, e := range bounds {
				if s != "" && e != "" && s > e {
					continue
				}
				for _, rev := range []bool{false, true} {
					for _, lim := range []int{1, 2, 3, 7, 100} {
						o := RangeOptions{Start: s, End: e, Reverse: rev, Limit: lim}
						got := pageAll(get, o)
						require.Equal(t, want(m, s, e, rev), got, "%s %+v", name, o)
					}
				}
			}
		}
	}
	check("db", model, func(o RangeOptions) (Page, error) { return db.Range("r", o) })
	_, err := db.Update(func(tx *Txn) error {
		m := copyModel(model)
		for range 30 {
			k := fmt.Sprintf("k%02d", r.IntN(45))
			if r.IntN(3) == 0 {
				_, err := tx.Delete("r", k)
				require.NoError(t, err)
				m[k] = false
			} else {
				require.NoError(t, tx.Put("r", k, Int(2)))
				m[k] = true
			}
		}
		check("txn", m, func(o RangeOptions) (Page, error) { return tx.Range("r", o) })
		return nil
	})
	require.NoError(t, err)
}

func copyModel(m map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
