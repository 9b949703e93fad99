package replica

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// An operation of the clients' history on one key.
type regInput struct {
	key   string
	op    string // "put", "get", "incr"
	value int64  // put's value, incr's delta
}

type regOutput struct {
	value   int64 // get's and incr's answer (0: absent)
	unknown bool  // the write's outcome is unknown: any answer fits
}

// registers is the sequential model: one Int register per key, 0 when
// absent.
var registers = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, op := range h {
			k := op.Input.(regInput).key
			by[k] = append(by[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range by {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return int64(0) },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(int64), input.(regInput), output.(regOutput)
		switch in.op {
		case "put":
			return true, in.value
		case "incr":
			return out.unknown || out.value == s+in.value, s + in.value
		default:
			return out.value == s, s
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		return fmt.Sprintf("%s(%s, %d) -> %d (unknown %v)", in.op, in.key, in.value, out.value, out.unknown)
	},
}

// leaderOf returns the node that leads now, or nil.
func (c *cluster) leaderOf() *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, nd := range c.nodes {
		if nd != nil && nd.IsLeader() {
			return nd
		}
	}
	return nil
}

// linearizableRun runs clients against c for d while killing and
// restarting the leader and partitioning a follower, then checks the
// history with porcupine. It returns the numbers of operations checked,
// leader kills and partitions.
func linearizableRun(t *testing.T, c *cluster, clients, opsPerClient int, seed uint64) (ops, kills, parts int) {
	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	var mu sync.Mutex
	var history []porcupine.Operation
	var done atomic.Int64
	var wg sync.WaitGroup
	for cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer done.Add(1)
			r := rand.New(rand.NewPCG(seed, uint64(cl)))
			for i := 0; i < opsPerClient; i++ {
				in := regInput{key: fmt.Sprintf("k%d", r.IntN(3))}
				switch r.IntN(3) {
				case 0:
					in.op, in.value = "put", int64(cl*1_000_000+i+1)
				case 1:
					in.op, in.value = "incr", int64(1+r.IntN(5))
				default:
					in.op = "get"
				}
				nd := c.leaderOf()
				if nd == nil {
					time.Sleep(time.Millisecond) // no leader now: try again
					i--
					continue
				}
				call := now()
				var out regOutput
				var err error
				switch in.op {
				case "put":
					_, err = nd.Put("r", in.key, kv.Int(in.value))
				case "incr":
					out.value, err = nd.Incr("r", in.key, in.value)
				default:
					var v kv.Versioned
					var ok bool
					v, ok, err = nd.Get("r", in.key, ReadOptions{})
					if ok {
						out.value, _ = v.Value.AsInt()
					}
				}
				ret := now()
				switch {
				case err == nil:
				case errors.Is(err, ErrNotLeader), in.op == "get":
					// Not applied (raft refused it), or a read that
					// answered nothing: no operation.
					i--
					continue
				default:
					// The write may or may not have happened, at any time
					// from its call on.
					out, ret = regOutput{unknown: true}, math.MaxInt64
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: cl, Input: in, Call: call, Output: out, Return: ret})
				mu.Unlock()
			}
		}()
	}
	// Faults while the clients run: the leader killed and restarted, a
	// follower cut off and healed, in turns.
	for round := 0; done.Load() < int64(clients); round++ {
		time.Sleep(150 * time.Millisecond)
		if done.Load() == int64(clients) {
			break
		}
		if round%2 == 0 {
			if l := c.leaderOf(); l != nil {
				i := c.index(l)
				c.stop(i)
				kills++
				time.Sleep(100 * time.Millisecond)
				c.restart(i)
			}
		} else {
			for i := range c.nodes {
				if nd := c.node(i); nd != nil && !nd.IsLeader() {
					c.part.Isolate(c.addrs[i])
					parts++
					time.Sleep(150 * time.Millisecond)
					c.part.Heal()
					break
				}
			}
		}
	}
	wg.Wait()
	res, info := porcupine.CheckOperationsVerbose(registers, history, time.Minute)
	if res != porcupine.Ok {
		f, err := os.CreateTemp("", "strata-linearizability-*.html")
		if err == nil {
			porcupine.Visualize(registers, info, f)
			f.Close()
			t.Logf("visualization: %s", f.Name())
		}
		t.Fatalf("the history of %d operations is not linearizable (%v)", len(history), res)
	}
	return len(history), kills, parts
}

// Concurrent clients on a 3-node cluster whose leader is killed and
// restarted and whose followers are cut off and healed: every answer is
// linearizable, and every acknowledged write survives (porcupine checks
// the reads after each).
func TestClusterLinearizable(t *testing.T) {
	c := newCluster(t, 3, nil)
	ops, kills, parts := linearizableRun(t, c, 4, 600, 1)
	t.Logf("%d operations checked, %d leader kills, %d partitions", ops, kills, parts)
	require.Positive(t, kills)
	require.Positive(t, parts)
}

// TestClusterSoak runs the linearizability test in rounds for as long as
// STRATA_REPLICA_SOAK says (a Go duration, e.g. 5m); skipped otherwise.
func TestClusterSoak(t *testing.T) {
	d := os.Getenv("STRATA_REPLICA_SOAK")
	if d == "" {
		t.Skip("set STRATA_REPLICA_SOAK=<duration> to soak")
	}
	dur, err := time.ParseDuration(d)
	require.NoError(t, err)
	deadline := time.Now().Add(dur)
	var ops, kills, parts, rounds int
	for seed := uint64(1); time.Now().Before(deadline); seed++ {
		c := newCluster(t, 3, nil)
		o, k, p := linearizableRun(t, c, 6, 300, seed)
		ops, kills, parts, rounds = ops+o, kills+k, parts+p, rounds+1
		c.closeAll()
	}
	t.Logf("%d rounds: %d operations checked, %d leader kills, %d partitions", rounds, ops, kills, parts)
}
