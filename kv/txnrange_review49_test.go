package kv_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// TestReview49TxnRangeCursorWriteSkew: a Range page that is full says,
// through its Cursor, whether a key follows it ("Cursor is "" exactly
// when no key follows the page"). Update is serializable, so a
// transaction that acted on that must conflict when the keys after the
// page change. Two "on call" transactions, each removing one of two
// keys only if another key remains (its Range page of 1 has a Cursor),
// both commit here, and no key is left: no serial order of the two
// gives that (run alone, the second sees Cursor "" and deletes nothing).
func TestReview49TxnRangeCursorWriteSkew(t *testing.T) {
	for _, reverseFirst := range []bool{true, false} {
		t.Run(map[bool]string{true: "reverse first", false: "forward first"}[reverseFirst], func(t *testing.T) {
			db, err := kv.Open(t.TempDir(), nil)
			require.NoError(t, err)
			_, err = db.MPut("oncall", []kv.KeyValue{{Key: "alice", Value: kv.Bool(true)}, {Key: "bob", Value: kv.Bool(true)}})
			require.NoError(t, err)

			// goOffCall removes the page's key if another key follows it.
			goOffCall := func(tx *kv.Txn, reverse bool) error {
				p, err := tx.Range("oncall", kv.RangeOptions{Reverse: reverse, Limit: 1})
				if err != nil {
					return err
				}
				require.Len(t, p.Entries, 1)
				if p.Cursor == "" {
					return nil // the last one on call stays
				}
				_, err = tx.Delete("oncall", p.Entries[0].Key)
				return err
			}
			var innerErr error
			_, outerErr := db.Update(func(tx *kv.Txn) error {
				if err := goOffCall(tx, reverseFirst); err != nil {
					return err
				}
				// Another transaction, run and committed meanwhile.
				_, innerErr = db.Update(func(tx *kv.Txn) error { return goOffCall(tx, !reverseFirst) })
				return nil
			})
			left, err := db.Keys("oncall", "", 0)
			require.NoError(t, err)
			t.Logf("inner %v, outer %v, left %v", innerErr, outerErr, left)
			db.Close()
			require.NotEmpty(t, left, "both transactions committed (inner %v, outer %v): no serial order leaves no key", innerErr, outerErr)
		})
	}
}
