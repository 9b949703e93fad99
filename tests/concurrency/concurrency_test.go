// Package concurrency checks, rather than hopes, that concurrent use of a
// DB is correct: single-key operations must be linearizable (checked with
// porcupine) and Update transactions serializable (checked by replaying
// every key's history in version order).
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

type opKind int

const (
	opPut opKind = iota
	opGet
	opIncr
	opCAS
	opDelete
)

type input struct {
	kind     opKind
	key      string
	value    int64  // Put, CAS new value; Incr delta
	expected *int64 // CAS: nil means "only if absent"
}

type output struct {
	present bool  // Get
	value   int64 // Get, Incr result
	ok      bool  // CAS swapped, Delete deleted
}

// keyState is the model's state of one key.
type keyState struct {
	present bool
	value   int64
}

var model = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range h {
			k := op.Input.(input).key
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return keyState{} },
	Step: func(state, in, out any) (bool, any) {
		s, i, o := state.(keyState), in.(input), out.(output)
		switch i.kind {
		case opPut:
			return true, keyState{true, i.value}
		case opGet:
			return o.present == s.present && (!s.present || o.value == s.value), s
		case opIncr:
			want := i.value
			if s.present {
				want += s.value
			}
			return o.value == want, keyState{true, want}
		case opCAS:
			match := (i.expected == nil && !s.present) || (i.expected != nil && s.present && *i.expected == s.value)
			if o.ok != match {
				return false, s
			}
			if match {
				return true, keyState{true, i.value}
			}
			return true, s
		case opDelete:
			return o.ok == s.present, keyState{}
		}
		return false, s
	},
	DescribeOperation: func(in, out any) string { return fmt.Sprintf("%+v -> %+v", in, out) },
}

// 8 goroutines run random single-key operations on 3 keys; the recorded
// history must be linearizable.
func TestSingleKeyOpsLinearizable(t *testing.T) {
	for _, durability := range []kv.Durability{kv.Buffered, kv.Strict} {
		t.Run(durability.String(), func(t *testing.T) {
			db, err := kv.Open(t.TempDir(), &kv.Options{Durability: durability})
			require.NoError(t, err)
			defer db.Close()
			var clock atomic.Int64
			var mu sync.Mutex
			var history []porcupine.Operation
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
					for i := 0; i < 150; i++ {
						in := input{kind: opKind(r.IntN(5)), key: fmt.Sprintf("s%d", r.IntN(3)), value: int64(r.IntN(5))}
						if in.kind == opCAS && r.IntN(3) > 0 {
							e := int64(r.IntN(5))
							in.expected = &e
						}
						call := clock.Add(1)
						out, err := apply(db, in)
						ret := clock.Add(1)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						history = append(history, porcupine.Operation{ClientId: g, Input: in, Call: call, Output: out, Return: ret})
						mu.Unlock()
					}
				}(g)
			}
			wg.Wait()
			res, _ := porcupine.CheckOperationsVerbose(model, history, time.Minute)
			require.Equal(t, porcupine.Ok, res, "history of %d operations is not linearizable", len(history))
			t.Logf("%d operations from 8 goroutines: linearizable", len(history))
		})
	}
}

func apply(db *kv.DB, in input) (output, error) {
	const run = "lin"
	switch in.kind {
	case opPut:
		_, err := db.Put(run, in.key, kv.Int(in.value))
		return output{}, err
	case opGet:
		v, ok, err := db.Get(run, in.key)
		n, _ := v.Value.AsInt()
		return output{present: ok, value: n}, err
	case opIncr:
		n, err := db.Incr(run, in.key, in.value)
		return output{value: n}, err
	case opCAS:
		var exp *kv.Value
		if in.expected != nil {
			v := kv.Int(*in.expected)
			exp = &v
		}
		ok, err := db.CompareAndSwapValue(run, in.key, exp, kv.Int(in.value))
		return output{ok: ok}, err
	default:
		ok, err := db.Delete(run, in.key)
		return output{ok: ok}, err
	}
}

// The checker must be able to fail: a history that reads a value never
// written is rejected.
func TestModelRejectsBadHistory(t *testing.T) {
	bad := []porcupine.Operation{
		{ClientId: 0, Input: input{kind: opPut, key: "k", value: 1}, Output: output{}, Call: 1, Return: 2},
		{ClientId: 1, Input: input{kind: opGet, key: "k"}, Output: output{present: true, value: 2}, Call: 3, Return: 4},
	}
	require.False(t, porcupine.CheckOperations(model, bad))
}

// txnRecord is what one committed Update observed and wrote.
type txnRecord struct {
	version kv.Version
	reads   map[string]*int64 // nil: absent
	writes  map[string]int64
}

// 8 goroutines run read-modify-write transactions (and blind writes and
// increments beside them) on 4 keys. Every committed transaction must have
// read exactly the values current just before its commit version: the
// committed transactions, replayed in version order, produce what each of
// them saw.
func TestTransactionsSerializable(t *testing.T) {
	db, err := kv.Open(t.TempDir(), nil)
	require.NoError(t, err)
	defer db.Close()
	const run = "ser"
	keys := []string{"t0", "t1", "t2", "t3"}
	var mu sync.Mutex
	var committed []txnRecord
	conflicts := 0
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 99))
			for i := 0; i < 150; i++ {
				switch r.IntN(6) {
				case 0:
					if _, err := db.Put(run, keys[r.IntN(4)], kv.Int(int64(r.IntN(100)))); err != nil {
						t.Error(err)
					}
					continue
				case 1:
					if _, err := db.Incr(run, keys[r.IntN(4)], 1); err != nil {
						t.Error(err)
					}
					continue
				}
				a, b, c := keys[r.IntN(4)], keys[r.IntN(4)], keys[r.IntN(4)]
				rec := txnRecord{reads: map[string]*int64{}, writes: map[string]int64{}}
				v, err := db.Update(func(tx *kv.Txn) error {
					sum := int64(0)
					for _, k := range []string{a, b} {
						got, ok, err := tx.Get(run, k)
						if err != nil {
							return err
						}
						if ok {
							n, _ := got.Value.AsInt()
							rec.reads[k] = &n
							sum += n
						} else {
							rec.reads[k] = nil
						}
					}
					rec.writes[c] = sum + 1
					return tx.Put(run, c, kv.Int(sum+1))
				})
				mu.Lock()
				if errors.Is(err, kv.ErrConflict) {
					conflicts++
				} else if err != nil {
					t.Error(err)
				} else {
					rec.version = v
					committed = append(committed, rec)
				}
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()

	// Every key's full history, to look up its value just before any version.
	hist := map[string][]kv.Versioned{}
	for _, k := range keys {
		h, err := db.History(run, k, 0, 0)
		require.NoError(t, err)
		hist[k] = h
	}
	valueBefore := func(k string, v kv.Version) *int64 {
		for _, x := range hist[k] { // newest first
			if x.Version < v {
				if x.Deleted {
					return nil
				}
				n, _ := x.Value.AsInt()
				return &n
			}
		}
		return nil
	}
	for _, rec := range committed {
		for k, saw := range rec.reads {
			want := valueBefore(k, rec.version)
			require.Equal(t, fmt.Sprint(deref(want)), fmt.Sprint(deref(saw)),
				"txn at version %d read %s=%v but the serial order says %v", rec.version, k, deref(saw), deref(want))
		}
		for k, w := range rec.writes {
			got, err := db.GetAt(run, k, rec.version)
			require.NoError(t, err)
			require.Equal(t, rec.version, got.Version)
			require.EqualValues(t, w, must(got.Value.AsInt()))
		}
	}
	require.NotEmpty(t, committed)
	t.Logf("%d transactions committed and replayed in version order, %d conflicts", len(committed), conflicts)
}

func deref(p *int64) any {
	if p == nil {
		return "absent"
	}
	return *p
}

func must[T any](v T, _ bool) T { return v }
