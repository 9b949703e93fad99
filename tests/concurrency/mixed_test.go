package concurrency

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

const mixedKeys = 3

// dbState is the model's state of all keys: comparable, so porcupine can
// cache states with ==.
type dbState [mixedKeys]keyState

// mixedInput is a single-key operation or, with kind opUpdate, a
// transaction that reads keys a and b and writes their sum plus one to c.
type mixedInput struct {
	input
	a, b, c int
}

type mixedOutput struct {
	output
	committed bool     // Update
	seenA     keyState // Update: what it read
	seenB     keyState
}

const opUpdate opKind = 100

var mixedModel = porcupine.Model{
	Init: func() any { return dbState{} },
	Step: func(state, in, out any) (bool, any) {
		s, i, o := state.(dbState), in.(mixedInput), out.(mixedOutput)
		if i.kind == opUpdate {
			if !o.committed {
				return true, s // a conflict writes nothing; what it read may be stale
			}
			if o.seenA != s[i.a] || o.seenB != s[i.b] {
				return false, s
			}
			sum := int64(1)
			if s[i.a].present {
				sum += s[i.a].value
			}
			if s[i.b].present {
				sum += s[i.b].value
			}
			s[i.c] = keyState{true, sum}
			return true, s
		}
		k := keyIndex(i.key)
		ok, next := model.Step(s[k], i.input, o.output)
		s[k] = next.(keyState)
		return ok, s
	},
	DescribeOperation: func(in, out any) string { return fmt.Sprintf("%+v -> %+v", in, out) },
}

func keyIndex(k string) int { return int(k[1] - '0') }

// 8 goroutines mix Put, Get, Incr, CAS, Delete and Update transactions on
// the same 3 keys. The whole history, transactions included (each at its
// commit), must be linearizable.
func TestMixedWorkloadLinearizable(t *testing.T) {
	db, err := kv.Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer db.Close()
	var clock atomic.Int64
	var mu sync.Mutex
	var history []porcupine.Operation
	var wg sync.WaitGroup
	commits, conflicts := 0, 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for i := 0; i < 100; i++ {
				in := mixedInput{input: input{kind: opKind(r.IntN(6)), key: fmt.Sprintf("s%d", r.IntN(mixedKeys)), value: int64(r.IntN(5))}}
				if in.kind == 5 {
					in.kind = opUpdate
					in.a, in.b, in.c = r.IntN(mixedKeys), r.IntN(mixedKeys), r.IntN(mixedKeys)
				}
				if in.kind == opCAS && r.IntN(3) > 0 {
					e := int64(r.IntN(5))
					in.expected = &e
				}
				call := clock.Add(1)
				var out mixedOutput
				var err error
				if in.kind == opUpdate {
					out, err = update(db, in)
				} else {
					out.output, err = apply(db, in.input)
				}
				ret := clock.Add(1)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if in.kind == opUpdate {
					if out.committed {
						commits++
					} else {
						conflicts++
					}
				}
				history = append(history, porcupine.Operation{ClientId: g, Input: in, Call: call, Output: out, Return: ret})
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	res, _ := porcupine.CheckOperationsVerbose(mixedModel, history, 2*time.Minute)
	require.Equal(t, porcupine.Ok, res, "history of %d operations is not linearizable", len(history))
	t.Logf("%d operations (%d transactions committed, %d conflicted) from 8 goroutines: linearizable", len(history), commits, conflicts)
}

func update(db *kv.DB, in mixedInput) (mixedOutput, error) {
	const run = "lin"
	var out mixedOutput
	read := func(tx *kv.Txn, k int) (keyState, error) {
		v, ok, err := tx.Get(run, fmt.Sprintf("s%d", k))
		n, _ := v.Value.AsInt()
		if !ok {
			n = 0
		}
		return keyState{ok, n}, err
	}
	_, err := db.Update(func(tx *kv.Txn) error {
		var err error
		if out.seenA, err = read(tx, in.a); err != nil {
			return err
		}
		if out.seenB, err = read(tx, in.b); err != nil {
			return err
		}
		sum := int64(1)
		if out.seenA.present {
			sum += out.seenA.value
		}
		if out.seenB.present {
			sum += out.seenB.value
		}
		return tx.Put(run, fmt.Sprintf("s%d", in.c), kv.Int(sum))
	})
	switch {
	case errors.Is(err, kv.ErrConflict):
		return out, nil
	case err != nil:
		return out, err
	}
	out.committed = true
	return out, nil
}

// The mixed model must reject a committed transaction that read a value
// the state never had.
func TestMixedModelRejectsBadTransaction(t *testing.T) {
	bad := []porcupine.Operation{
		{ClientId: 0, Input: mixedInput{input: input{kind: opPut, key: "s0", value: 4}}, Output: mixedOutput{}, Call: 1, Return: 2},
		{ClientId: 1, Input: mixedInput{input: input{kind: opUpdate}, a: 0, b: 1, c: 2},
			Output: mixedOutput{committed: true, seenA: keyState{true, 3}}, Call: 3, Return: 4},
	}
	require.False(t, porcupine.CheckOperations(mixedModel, bad))
	good := []porcupine.Operation{bad[0], {ClientId: 1, Input: bad[1].Input,
		Output: mixedOutput{committed: true, seenA: keyState{true, 4}}, Call: 3, Return: 4}}
	require.True(t, porcupine.CheckOperations(mixedModel, good))
}
