package kvtest

import (
	"errors"
	"math"
	"testing"

	"github.com/strata-kv/strata/kv"
)

// kv.Incr: "a result outside int64 ErrOverflow; nothing is written on
// error". The model predicts a wrapped-around result and a write.
func TestReviewPredictIncrOverflow(t *testing.T) {
	m := NewModel()
	v := kv.Int(math.MaxInt64)
	if err := m.Commit(1, map[Key]*kv.Value{{"a", "k0"}: &v}); err != nil {
		t.Fatal(err)
	}
	e := m.Predict(Op{Kind: OpIncr, Run: "a", Keys: []string{"k0"}, Delta: 1})
	if !errors.Is(e.Err, kv.ErrOverflow) || e.Writes != nil {
		t.Fatalf("Predict(Incr MaxInt64 by 1) = err %v, N %d, writes %v; kv answers ErrOverflow and writes nothing", e.Err, e.N, e.Writes)
	}
}

// The same through the Runner: the database is right, the Runner fails.
func TestReviewRunnerIncrOverflow(t *testing.T) {
	h := NewRunner(t, kv.Options{Durability: kv.Strict}, 1)
	h.Do(Op{Kind: OpPut, Run: "a", Keys: []string{"k0"}, Values: []kv.Value{kv.Int(math.MaxInt64)}})
	h.Do(Op{Kind: OpIncr, Run: "a", Keys: []string{"k0"}, Delta: 1})
}
