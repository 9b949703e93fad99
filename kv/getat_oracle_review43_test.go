package kv_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
)

// review43Oracle drives random operations (runs dropped and forked,
// reopens, crashes, explicit and background compaction) against a
// database with retention, and checks GetAt against a model that never
// compacts: the truth. A value must be the truth's; ErrNotFound must
// mean the key was absent then (never a version dropped).
func review43Oracle(t *testing.T, seed uint64, steps int, background bool) {
	review43OracleD(t, seed, steps, background, kv.Strict)
}

func review43OracleD(t *testing.T, seed uint64, steps int, background bool, dur kv.Durability) {
	g := kvtest.NewGen(seed, 8, true)
	keep := 1 + int(seed%3)
	opts := kv.Options{Durability: dur, SegmentSize: int64(300 + g.Rand().IntN(2000)),
		Retention: kv.Retention{KeepVersions: keep}, CompactAt: -1}
	if background {
		opts.CompactAt = 0.01
	}
	fs := vfs.NewMem()
	open := func() *kv.DB {
		o := opts
		db, err := kvtest.OpenFS(fs, "/db", &o)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	}
	db := open()
	defer func() { db.Close() }()
	truth := kvtest.NewModel()
	r := rand.New(rand.NewPCG(seed, 3))
	check := func(step int, op kvtest.Op) {
		keys := truth.Keys()
		for _, run := range []kv.RunID{"a", "b", kvtest.ForkRun} {
			keys = append(keys, kvtest.Key{Run: run, Key: "never"}, kvtest.Key{Run: run, Key: fmt.Sprintf("k%d", r.IntN(8))})
		}
		for _, k := range keys {
			at := kv.Version(r.IntN(int(truth.Last()) + 2))
			got, err := db.GetAt(k.Run, k.Key, at)
			want, ok := truth.At(k, at)
			switch {
			case err == nil:
				if !ok || got.Version != want.Version || !got.Value.Equal(want.Value) {
					t.Fatalf("seed %d step %d (after %v): GetAt %v@%d = %v@%d; truth %v@%d (live %v)", seed, step, op, k, at, got.Value, got.Version, want.Value, want.Version, ok)
				}
			case errors.Is(err, kv.ErrNotFound):
				if ok {
					t.Fatalf("seed %d step %d (after %v): GetAt %v@%d = ErrNotFound; truth: live %v@%d (%v)", seed, step, op, k, at, want.Value, want.Version, err)
				}
			case errors.Is(err, kv.ErrHistoryTrimmed):
			default:
				t.Fatalf("seed %d step %d: GetAt %v@%d: %v", seed, step, k, at, err)
			}
		}
	}
	for step := range steps {
		op := g.Next()
		switch op.Kind {
		case kvtest.OpReopen:
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = open()
		case kvtest.OpCrash:
			img := kvtest.CrashImage(fs, op.Image)
			db.Close()
			fs = img
			db = open()
			truth.Truncate(db.LastVersion())
		case kvtest.OpCompact:
			if _, err := db.Compact(t.Context()); err != nil {
				t.Fatalf("compact: %v", err)
			}
		case kvtest.OpGetAt, kvtest.OpCheck, kvtest.OpSync:
		default:
			want := truth.Predict(op)
			res, err := kvtest.Exec(db, op)
			if err != nil && !errors.Is(err, want.Err) && !errors.Is(err, kv.ErrHistoryTrimmed) {
				t.Fatalf("seed %d step %d: %v: %v (want %v)", seed, step, op, err, want.Err)
			}
			if res.Version != 0 {
				if want.Writes == nil {
					t.Fatalf("seed %d step %d: %v committed %d; the truth writes nothing", seed, step, op, res.Version)
				}
				if err := truth.Apply(res.Version, want); err != nil {
					t.Fatal(err)
				}
			}
		}
		check(step, op)
	}
}

func TestReview43GetAtOracle(t *testing.T) {
	for seed := uint64(1); seed <= oracleSeeds(40); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { review43Oracle(t, seed, 400, false) })
	}
}

func TestReview43GetAtOracleBackground(t *testing.T) {
	for seed := uint64(1); seed <= oracleSeeds(20); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { review43Oracle(t, seed, 400, true) })
	}
}

func TestReview43GetAtOracleBuffered(t *testing.T) {
	for seed := uint64(1); seed <= oracleSeeds(30); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { review43OracleD(t, seed, 500, seed%2 == 0, kv.Buffered) })
	}
}

// oracleSeeds is n, or a quarter of it under the race detector.
func oracleSeeds(n uint64) uint64 {
	if raceOn {
		return n / 4
	}
	return n
}
