package kvtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
)

// OpKind is the kind of an operation of a randomized test.
type OpKind uint8

// The operations: the kv calls that write, then what a test does around
// them.
const (
	OpPut     OpKind = iota // Put Keys[0] = Values[0]
	OpDelete                // Delete Keys[0]
	OpMPut                  // MPut Keys[i] = Values[i]
	OpMDelete               // MDelete Keys
	OpIncr                  // Incr Keys[0] by Delta
	OpCAS                   // CompareAndSwapVersion Keys[0] to Values[0], expecting what Expect says
	// OpUpdate runs a transaction: it lists the run's live keys under
	// UpdatePrefix, reads Keys[0], writes Keys[1] (Keys[0]'s value, or the
	// number of keys listed when Keys[0] is absent) and, with Drop,
	// deletes Keys[0].
	OpUpdate
	OpDropRun // DropRun Run
	// OpForkRun forks Run into the run named Keys[0] as of version At mod
	// (last + 2) (0: the latest).
	OpForkRun
	OpReopen  // Close and Open
	OpCrash   // a power loss (Image picks what survives; see CrashImage), then Open
	OpSync    // DB.Sync
	OpCompact // DB.Compact
	OpCheck   // check the whole database against the model
	OpGetAt   // GetAt Keys[0] at version At mod (last + 2)
	numOps
)

var opNames = [...]string{"put", "delete", "mput", "mdelete", "incr", "cas", "update", "droprun", "forkrun", "reopen", "crash", "sync", "compact", "check", "getat"}

// String names the kind.
func (k OpKind) String() string {
	if k < numOps {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// CASExpect says which version an OpCAS expects.
type CASExpect uint8

// What an OpCAS expects.
const (
	ExpectAbsent  CASExpect = iota // 0: the key absent
	ExpectCurrent                  // the key's newest version (0 if absent)
	ExpectVersion                  // At mod (last + 2): right only by chance
)

// UpdatePrefix is the prefix of the keys an OpUpdate lists.
const UpdatePrefix = "k1"

// ForkRun is the run the generators fork runs into.
const ForkRun = "c"

// Op is one operation of a randomized test.
type Op struct {
	Kind   OpKind
	Run    kv.RunID
	Keys   []string
	Values []kv.Value
	Delta  int64
	Expect CASExpect
	Drop   bool   // OpUpdate: also delete Keys[0]
	Image  byte   // OpCrash: what survives (CrashImage)
	At     uint64 // OpGetAt, and OpCAS with ExpectVersion
}

// String describes the operation, for failure messages.
func (o Op) String() string {
	return fmt.Sprintf("%v %s %v %v delta=%d expect=%d drop=%v image=%#x at=%d", o.Kind, o.Run, o.Keys, o.Values, o.Delta, o.Expect, o.Drop, o.Image, o.At)
}

// Gen makes random operations over a small key space (so that keys are
// written, deleted and read again often).
type Gen struct {
	r    *rand.Rand
	runs []kv.RunID
	keys int
	// compact includes OpCompact.
	compact bool
}

// NewGen returns a generator seeded with seed: keys k0..k<keys-1> of runs
// "a" and "b"; with compact, OpCompact is among the operations.
func NewGen(seed uint64, keys int, compact bool) *Gen {
	return &Gen{r: rand.New(rand.NewPCG(seed, seed*7)), runs: []kv.RunID{"a", "b"}, keys: keys, compact: compact}
}

// Rand returns the generator's source, for choices a test makes itself.
func (g *Gen) Rand() *rand.Rand { return g.r }

func (g *Gen) key() string { return fmt.Sprintf("k%d", g.r.IntN(g.keys)) }

// Next returns the next operation. The mix: 30% Put, 10% Delete, 10%
// MPut, 5% MDelete, 10% Incr, 7% CAS, 13% Update, 5% a reopen or crash,
// 4% Compact (when asked for), the rest checks and reads.
func (g *Gen) Next() Op {
	r := g.r
	op := Op{Run: g.runs[r.IntN(len(g.runs))], Keys: []string{g.key()}}
	switch n := r.IntN(100); {
	case n < 30:
		op.Kind, op.Values = OpPut, []kv.Value{RandomValue(r)}
	case n < 40:
		op.Kind = OpDelete
	case n < 50:
		op.Kind = OpMPut
		for i := range 1 + r.IntN(4) {
			if i > 0 {
				op.Keys = append(op.Keys, g.key())
			}
			op.Values = append(op.Values, RandomValue(r))
		}
	case n < 55:
		op.Kind, op.Keys = OpMDelete, append(op.Keys, g.key())
	case n < 65:
		op.Kind, op.Delta = OpIncr, 3
	case n < 72:
		op.Kind, op.Values = OpCAS, []kv.Value{RandomValue(r)}
		op.Expect, op.At = CASExpect(r.IntN(3)), r.Uint64()
	case n < 84:
		op.Kind, op.Keys, op.Drop = OpUpdate, append(op.Keys, g.key()), r.IntN(3) == 0
	case n < 85:
		op.Kind, op.Run = OpDropRun, []kv.RunID{"a", "b", ForkRun}[r.IntN(3)]
	case n < 86:
		op.Kind, op.Keys = OpForkRun, []string{ForkRun}
		if r.IntN(2) == 0 {
			op.At = r.Uint64()
		}
	case n < 88:
		op.Kind = OpReopen
	case n < 90:
		op.Kind = OpCrash // Image 0: only what was synced survives
	case n < 94 && g.compact:
		op.Kind = OpCompact
	case n < 97:
		op.Kind, op.At = OpGetAt, r.Uint64()
	default:
		op.Kind = OpCheck
	}
	return op
}

// Workload returns operation i of the deterministic workload the fault
// tests run on run "r" over keys k00..k22, "t" and "n": puts, two-key
// batches, transactions that delete a key and write "t", and
// increments of "n". Every operation but a transaction whose key is
// absent (and so copies the count of keys listed) writes Int values.
func Workload(i int) Op {
	k := fmt.Sprintf("k%02d", i%23)
	switch i % 5 {
	case 0, 1:
		return Op{Kind: OpPut, Run: "r", Keys: []string{k}, Values: []kv.Value{kv.Int(int64(i))}}
	case 2:
		k2 := fmt.Sprintf("k%02d", (i*7)%23)
		return Op{Kind: OpMPut, Run: "r", Keys: []string{k, k2}, Values: []kv.Value{kv.Int(int64(i)), kv.Int(int64(-i))}}
	case 3:
		return Op{Kind: OpUpdate, Run: "r", Keys: []string{fmt.Sprintf("k%02d", (i*3)%23), "t"}, Drop: true}
	}
	return Op{Kind: OpIncr, Run: "r", Keys: []string{"n"}, Delta: 1}
}

// WorkloadKeys lists every key Workload writes.
func WorkloadKeys() []Key {
	keys := []Key{{"r", "n"}, {"r", "t"}}
	for i := range 23 {
		keys = append(keys, Key{"r", fmt.Sprintf("k%02d", i)})
	}
	return keys
}

// WorkerOp returns operation j of worker w of the kill -9 test's
// workload: on run "crash", over the worker's own keys, chosen by j alone
// so that the test can replay what a killed writer acknowledged.
//
//	j%4 == 0  Put    w<w>/p<(j/4)%5>           = Int(j)
//	j%4 == 1  MPut   w<w>/b0, w<w>/b1, w<w>/b2  = Int(j)
//	j%4 == 2  Delete w<w>/p<(j/4+2)%5>
//	j%4 == 3  Incr   w<w>/c by 1
func WorkerOp(w, j int) Op {
	p := func(i int) string { return fmt.Sprintf("w%d/p%d", w, i) }
	op := Op{Run: "crash"}
	switch j % 4 {
	case 0:
		op.Kind, op.Keys, op.Values = OpPut, []string{p((j / 4) % 5)}, []kv.Value{kv.Int(int64(j))}
	case 1:
		op.Kind = OpMPut
		for i := range 3 {
			op.Keys = append(op.Keys, fmt.Sprintf("w%d/b%d", w, i))
			op.Values = append(op.Values, kv.Int(int64(j)))
		}
	case 2:
		op.Kind, op.Keys = OpDelete, []string{p((j/4 + 2) % 5)}
	default:
		op.Kind, op.Keys, op.Delta = OpIncr, []string{fmt.Sprintf("w%d/c", w)}, 1
	}
	return op
}

// RandomValue returns a value of a random type (no NaN, so Equal is
// exact).
func RandomValue(r *rand.Rand) kv.Value {
	switch r.IntN(6) {
	case 0:
		return kv.Int(int64(r.IntN(100)))
	case 1:
		return kv.String(fmt.Sprintf("s%d", r.IntN(1000)))
	case 2:
		return kv.Bytes(make([]byte, r.IntN(300))) // compressible, sometimes
	case 3:
		return kv.Array(kv.Int(int64(r.IntN(5))), kv.Null())
	case 4:
		return kv.Float(r.Float64())
	default:
		return kv.Object(map[string]kv.Value{"k": kv.Bool(r.IntN(2) == 0)})
	}
}

// DecodeOps interprets fuzz input as operations: each takes two bytes,
// an operation and an argument that picks the run, the keys (k0..k4),
// the values and the rest.
func DecodeOps(b []byte) []Op {
	var ops []Op
	for i := 0; i+1 < len(b); i += 2 {
		arg := b[i+1]
		op := Op{Run: kv.RunID([]string{"a", "b"}[arg&1]), Keys: []string{fmt.Sprintf("k%d", (arg>>1)%5)}}
		k2 := fmt.Sprintf("k%d", (arg>>4)%5)
		val := valueFor(arg)
		switch b[i] % 13 {
		case 0:
			op.Kind, op.Values = OpPut, []kv.Value{val}
		case 1:
			op.Kind = OpDelete
		case 2: // two keys, maybe the same one twice
			op.Kind, op.Keys, op.Values = OpMPut, append(op.Keys, k2), []kv.Value{val, valueFor(arg + 1)}
		case 3:
			op.Kind, op.Keys = OpMDelete, append(op.Keys, k2)
		case 4:
			op.Kind, op.Delta = OpIncr, int64(arg)-100
		case 5:
			op.Kind, op.Values = OpCAS, []kv.Value{val}
			switch {
			case arg&0x80 != 0:
				op.Expect = ExpectCurrent
			case arg&0x40 != 0:
				op.Expect, op.At = ExpectVersion, uint64(arg)
			}
		case 6:
			op.Kind, op.Keys, op.Drop = OpUpdate, append(op.Keys, k2), arg&0x08 != 0
		case 7: // a clean reopen, or (odd argument) a Sync
			op.Kind = OpReopen
			if arg&1 == 1 {
				op.Kind = OpSync
			}
		case 8:
			op.Kind, op.Image = OpCrash, arg
		case 9:
			op.Kind, op.At = OpGetAt, uint64(arg)
		case 10:
			op.Kind = OpCompact
		case 11:
			op.Kind = OpDropRun
			if arg&2 != 0 {
				op.Run = ForkRun
			}
		case 12:
			op.Kind, op.Keys, op.At = OpForkRun, []string{ForkRun}, uint64(arg>>1)
		}
		ops = append(ops, op)
	}
	return ops
}

// valueFor returns a value of a type and content chosen by arg.
func valueFor(arg byte) kv.Value {
	switch arg % 5 {
	case 0:
		return kv.Int(int64(arg))
	case 1:
		return kv.String(fmt.Sprintf("s%d", arg))
	case 2:
		return kv.Bytes(make([]byte, int(arg)))
	case 3:
		return kv.Array(kv.Float(float64(arg)/3), kv.Null())
	default:
		return kv.Object(map[string]kv.Value{"n": kv.Int(int64(arg))})
	}
}

// Result is what an operation did.
type Result struct {
	// Version is the commit's version (0: it committed nothing).
	Version kv.Version
	OK      bool
	N       int64
	// Listed and Read are what an OpUpdate's transaction saw (Found:
	// Keys[0] was live).
	Listed []string
	Read   kv.Versioned
	Found  bool
}

// Exec runs a kv call (OpPut to OpUpdate) on db and returns what it did;
// the error is the call's. For the calls that do not return their
// commit's version (Delete, MDelete, Incr, the CAS calls) Result.Version
// is db.LastVersion() after the call: right only when no other goroutine
// writes meanwhile.
func Exec(db *kv.DB, op Op) (Result, error) {
	var res Result
	var err error
	var k string
	if len(op.Keys) > 0 {
		k = op.Keys[0]
	}
	// committed sets res.Version for the calls that do not return it.
	committed := func(did bool) {
		if err == nil && did {
			res.Version = db.LastVersion()
		}
	}
	switch op.Kind {
	case OpPut:
		res.Version, err = db.Put(op.Run, k, op.Values[0])
	case OpDelete:
		res.OK, err = db.Delete(op.Run, k)
		committed(res.OK)
	case OpMPut:
		kvs := make([]kv.KeyValue, len(op.Keys))
		for i := range op.Keys {
			kvs[i] = kv.KeyValue{Key: op.Keys[i], Value: op.Values[i]}
		}
		res.Version, err = db.MPut(op.Run, kvs)
	case OpMDelete:
		var n int
		n, err = db.MDelete(op.Run, op.Keys)
		res.N = int64(n)
		committed(n > 0)
	case OpIncr:
		res.N, err = db.Incr(op.Run, k, op.Delta)
		committed(true)
	case OpCAS:
		var expected kv.Version
		switch op.Expect {
		case ExpectCurrent:
			var cur kv.Versioned
			if cur, res.Found, err = db.Get(op.Run, k); err != nil {
				return res, err
			}
			expected = cur.Version
		case ExpectVersion:
			expected = kv.Version(op.At % (uint64(db.LastVersion()) + 2))
		}
		res.OK, err = db.CompareAndSwapVersion(op.Run, k, expected, op.Values[0])
		committed(res.OK)
	case OpUpdate:
		res.Version, err = db.Update(func(tx *kv.Txn) error { return update(tx, op, &res) })
	case OpDropRun:
		res.Version, err = db.DropRun(op.Run)
	case OpForkRun:
		at := kv.Version(op.At % (uint64(db.LastVersion()) + 2)) // 0: the latest
		res.Version, err = db.ForkRun(op.Run, kv.RunID(op.Keys[0]), at)
	default:
		return res, fmt.Errorf("kvtest: Exec of %v", op.Kind)
	}
	return res, err
}

// update is the transaction of an OpUpdate.
func update(tx *kv.Txn, op Op, res *Result) error {
	var err error
	if res.Listed, err = tx.Keys(op.Run, UpdatePrefix, 0); err != nil {
		return err
	}
	if res.Read, res.Found, err = tx.Get(op.Run, op.Keys[0]); err != nil {
		return err
	}
	v := kv.Int(int64(len(res.Listed)))
	if res.Found {
		v = res.Read.Value
	}
	if err := tx.Put(op.Run, op.Keys[1], v); err != nil {
		return err
	}
	if op.Drop {
		_, err = tx.Delete(op.Run, op.Keys[0])
	}
	return err
}

// CrashImage is the file system a power loss leaves of mem, chosen by
// image: with image&8 clear, a prefix (none, half, all, by image%3) of
// the unsynced bytes survives; with it set, a subset of small pages (16
// to 128 bytes, chosen by a hash of image and the page), the lost ones
// zeroed or (image&4) garbage. Image 0 keeps only what was synced.
func CrashImage(mem *vfs.Mem, image byte) *vfs.Mem {
	if image&8 == 0 {
		return mem.CrashClone(float64(image%3) / 2)
	}
	size := int64(16) << (image >> 4 & 3)
	keep := func(_ string, p int64) bool {
		return (uint64(p)*0x9E3779B97F4A7C15^uint64(image)*0xBF58476D1CE4E5B9)>>63 == 1
	}
	fill := func(b []byte) { clear(b) }
	if image&4 != 0 {
		fill = func(b []byte) {
			for i := range b {
				b[i] = byte(i*37) ^ image
			}
		}
	}
	return mem.CrashImage(vfs.Pages(size, keep, fill))
}

// errNoCommit reports a commit the model did not expect, or the reverse.
var errNoCommit = errors.New("kvtest: the call committed where the model says it writes nothing, or the reverse")

// PadValue returns n >= 8 bytes that do not compress: seed, then a
// stream drawn from it. IsPadValue recognises them whole.
func PadValue(seed uint64, n int) []byte {
	b := make([]byte, n)
	binary.LittleEndian.PutUint64(b, seed)
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	rand.NewChaCha8(key).Read(b[8:])
	return b
}

// IsPadValue reports whether b is PadValue(seed, len(b)) for the seed
// its first 8 bytes hold.
func IsPadValue(b []byte) bool {
	return len(b) >= 8 && bytes.Equal(b, PadValue(binary.LittleEndian.Uint64(b), len(b)))
}
