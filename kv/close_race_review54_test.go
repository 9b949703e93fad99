package kv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// review54Op is one public method call; it returns the error the call
// returned (results it checks itself, where it can).
type review54Op struct {
	name string
	call func(db *DB, g, i int, ckdir string) error
}

// review54Ops lists every public method of DB (and of Txn, through View
// and Update), each called the way a user would.
func review54Ops() []review54Op {
	bigVal := Bytes([]byte(strings.Repeat("v", 200)))
	return []review54Op{
		{"Get", func(db *DB, g, i int, _ string) error {
			v, ok, err := db.Get(DefaultRun, fmt.Sprintf("k%03d", i%300))
			if err == nil && ok {
				b, _ := v.Value.AsBytes()
				_ = strings.Count(string(b), "v")
			}
			return err
		}},
		{"GetAt", func(db *DB, g, i int, _ string) error {
			_, err := db.GetAt(DefaultRun, fmt.Sprintf("k%03d", i%300), db.LastVersion())
			if errors.Is(err, ErrHistoryTrimmed) {
				return nil
			}
			return err
		}},
		{"MGet", func(db *DB, g, i int, _ string) error {
			_, err := db.MGet(DefaultRun, []string{"k000", "k001", fmt.Sprintf("k%03d", i%300)})
			return err
		}},
		{"Exists", func(db *DB, g, i int, _ string) error {
			_, err := db.Exists(DefaultRun, "k005")
			return err
		}},
		{"MExists", func(db *DB, g, i int, _ string) error {
			_, err := db.MExists(DefaultRun, []string{"k005", "k006"})
			return err
		}},
		{"History", func(db *DB, g, i int, _ string) error {
			_, err := db.History(DefaultRun, "hot", 0, 0)
			return err
		}},
		{"HistoryFunc", func(db *DB, g, i int, _ string) error {
			return db.HistoryFunc(DefaultRun, "hot", 0, 0, func(v Versioned) bool {
				b, _ := v.Value.AsBytes()
				_ = strings.Count(string(b), "v")
				return true
			})
		}},
		{"Scan", func(db *DB, g, i int, _ string) error {
			_, err := db.Scan(DefaultRun, "k", 50, "")
			return err
		}},
		{"ScanFunc", func(db *DB, g, i int, _ string) error {
			return db.ScanFunc(DefaultRun, "k", "", 0, func(k []byte, v Versioned) bool {
				b, _ := v.Value.AsBytes()
				_ = strings.Count(string(b), "v") + len(k)
				return true
			})
		}},
		{"Keys", func(db *DB, g, i int, _ string) error {
			_, err := db.Keys(DefaultRun, "k", 0)
			return err
		}},
		{"Range", func(db *DB, g, i int, _ string) error {
			_, err := db.Range(DefaultRun, RangeOptions{Start: "k1", Reverse: i%2 == 0, Limit: 30})
			return err
		}},
		{"Runs", func(db *DB, g, i int, _ string) error {
			_, err := db.Runs()
			return err
		}},
		{"Changes", func(db *DB, g, i int, _ string) error {
			_, err := db.Changes(DefaultRun, "", Version(i%50), 50)
			if errors.Is(err, ErrHistoryTrimmed) {
				return nil
			}
			return err
		}},
		{"Diff", func(db *DB, g, i int, _ string) error {
			_, err := db.Diff(DefaultRun, db.LastVersion()/2, db.LastVersion())
			if errors.Is(err, ErrHistoryTrimmed) {
				return nil
			}
			return err
		}},
		{"Meta", func(db *DB, g, i int, _ string) error {
			_, _, err := db.Meta("m")
			return err
		}},
		{"CheckWrite", func(db *DB, g, i int, _ string) error {
			v := Int(1)
			return db.CheckWrite(DefaultRun, "x", &v)
		}},
		{"View", func(db *DB, g, i int, _ string) error {
			return db.View(func(tx *Txn) error {
				if _, _, err := tx.Get(DefaultRun, "k001"); err != nil {
					return err
				}
				if _, err := tx.Scan(DefaultRun, "k", 20, ""); err != nil {
					return err
				}
				_, err := tx.Range(DefaultRun, RangeOptions{Limit: 10})
				return err
			})
		}},
		{"ViewAt", func(db *DB, g, i int, _ string) error {
			err := db.ViewAt(db.LastVersion(), func(tx *Txn) error {
				_, err := tx.Keys(DefaultRun, "k0", 0)
				return err
			})
			if errors.Is(err, ErrHistoryTrimmed) {
				return nil
			}
			return err
		}},
		{"Update", func(db *DB, g, i int, _ string) error {
			_, err := db.Update(func(tx *Txn) error {
				if _, _, err := tx.Get(DefaultRun, fmt.Sprintf("u%d", g)); err != nil {
					return err
				}
				return tx.Put(DefaultRun, fmt.Sprintf("u%d", g), Int(int64(i)))
			})
			return err
		}},
		{"Put", func(db *DB, g, i int, _ string) error {
			_, err := db.Put(DefaultRun, "hot", bigVal)
			return err
		}},
		{"MPut", func(db *DB, g, i int, _ string) error {
			_, err := db.MPut(DefaultRun, []KeyValue{{fmt.Sprintf("k%03d", i%300), bigVal}, {"m1", Int(2)}})
			return err
		}},
		{"Delete", func(db *DB, g, i int, _ string) error {
			_, err := db.Delete(DefaultRun, fmt.Sprintf("d%d", g))
			return err
		}},
		{"MDelete", func(db *DB, g, i int, _ string) error {
			_, err := db.MDelete(DefaultRun, []string{fmt.Sprintf("d%d", g)})
			return err
		}},
		{"Incr", func(db *DB, g, i int, _ string) error {
			_, err := db.Incr(DefaultRun, fmt.Sprintf("c%d", g), 1)
			return err
		}},
		{"CASVersion", func(db *DB, g, i int, _ string) error {
			_, err := db.CompareAndSwapVersion(DefaultRun, fmt.Sprintf("cas%d", g), 0, Int(1))
			return err
		}},
		{"CASValue", func(db *DB, g, i int, _ string) error {
			_, err := db.CompareAndSwapValue(DefaultRun, fmt.Sprintf("cas%d", g), nil, Int(1))
			return err
		}},
		{"ForkRun", func(db *DB, g, i int, _ string) error {
			dst := RunID(fmt.Sprintf("f%d-%d", g, i))
			_, err := db.ForkRun(DefaultRun, dst, 0)
			return err
		}},
		{"DropRun", func(db *DB, g, i int, _ string) error {
			_, err := db.DropRun(RunID(fmt.Sprintf("f%d-%d", g, i-1)))
			return err
		}},
		{"Sync", func(db *DB, g, i int, _ string) error { return db.Sync() }},
		{"Compact", func(db *DB, g, i int, _ string) error {
			_, err := db.Compact(context.Background())
			return err
		}},
		{"Checkpoint", func(db *DB, g, i int, ckdir string) error {
			if ckdir == "" {
				_, err := db.Checkpoint("/nowhere")
				return err
			}
			_, err := db.Checkpoint(filepath.Join(ckdir, fmt.Sprintf("c%d-%d", g, i)))
			return err
		}},
		{"WaitFor", func(db *DB, g, i int, _ string) error {
			return db.WaitFor(context.Background(), db.LastVersion())
		}},
		{"Stats", func(db *DB, g, i int, _ string) error { db.Stats(); return nil }},
		{"Recovery", func(db *DB, g, i int, _ string) error { db.Recovery(); return nil }},
	}
}

type review54Mode struct {
	name string
	opts Options
}

var review54Modes = []review54Mode{
	{"buffered", Options{Durability: Buffered, SegmentSize: 8 << 10, Retention: Retention{KeepVersions: 2}, CompactAt: 0.1}},
	{"strict", Options{Durability: Strict, SegmentSize: 8 << 10, Retention: Retention{KeepVersions: 2}, CompactAt: 0.1}},
	{"inmemory", Options{Durability: InMemory, SegmentSize: 8 << 10, Retention: Retention{KeepVersions: 2}, CompactAt: 0.1}},
	{"readonly", Options{ReadOnly: true}},
}

// review54Open opens a database of mode m holding some sealed segments,
// a long history of "hot", a forked run, a dropped one and metadata.
func review54Open(t *testing.T, m review54Mode) (*DB, string) {
	t.Helper()
	dir := ""
	if m.opts.Durability != InMemory {
		dir = t.TempDir()
	}
	fill := m.opts
	fill.ReadOnly = false
	db, err := Open(dir, &fill)
	require.NoError(t, err)
	val := Bytes([]byte(strings.Repeat("v", 200)))
	for i := 0; i < 300; i++ {
		mustPut(t, db, DefaultRun, fmt.Sprintf("k%03d", i), val)
	}
	for i := 0; i < 200; i++ {
		mustPut(t, db, DefaultRun, "hot", val)
	}
	_, err = db.ForkRun(DefaultRun, "forked", 0)
	require.NoError(t, err)
	mustPut(t, db, "gone", "x", Int(1))
	_, err = db.DropRun("gone")
	require.NoError(t, err)
	_, err = db.Update(func(tx *Txn) error { return tx.PutMeta("m", Int(1)) })
	require.NoError(t, err)
	if !m.opts.ReadOnly {
		return db, dir
	}
	require.NoError(t, db.Close())
	db, err = Open(dir, &m.opts)
	require.NoError(t, err)
	return db, dir
}

// review54Allowed reports whether err is an answer a call racing with (or
// following) Close may give.
func review54Allowed(m review54Mode, op string, err error) bool {
	switch {
	case err == nil, errors.Is(err, ErrClosed), errors.Is(err, ErrConflict):
		return true
	case errors.Is(err, ErrReadOnly) && (m.opts.ReadOnly || op == "Checkpoint"):
		return true
	case op == "ForkRun" && errors.Is(err, ErrInvalidRun):
		return true
	case op == "Checkpoint" && m.opts.Durability == InMemory:
		return true
	}
	return false
}

// TestReview54EveryMethodRacingClose runs every public method from several
// goroutines while Close runs: each call must return a correct answer or
// ErrClosed, never panic, fault or hang; after Close every method but
// Stats, Recovery and LastVersion returns ErrClosed.
func TestReview54EveryMethodRacingClose(t *testing.T) {
	ops := review54Ops()
	for _, m := range review54Modes {
		t.Run(m.name, func(t *testing.T) {
			for round := 0; round < 3; round++ {
				db, dir := review54Open(t, m)
				ckdir := ""
				if dir != "" {
					ckdir = t.TempDir()
				}
				var mu sync.Mutex
				var bad []string
				report := func(s string) {
					mu.Lock()
					if len(bad) < 20 {
						bad = append(bad, s)
					}
					mu.Unlock()
				}
				var calls atomic.Int64
				var wg sync.WaitGroup
				const workers = 6
				for g := 0; g < workers; g++ {
					wg.Add(1)
					go func(g int) {
						defer wg.Done()
						closedSeen := 0
						for i := 1; closedSeen < len(ops); i++ {
							op := ops[(i+g*5)%len(ops)]
							err := op.call(db, g, i, ckdir)
							calls.Add(1)
							if !review54Allowed(m, op.name, err) {
								report(fmt.Sprintf("%s during Close: %v", op.name, err))
							}
							if errors.Is(err, ErrClosed) || db.closed.Load() {
								closedSeen++
							}
						}
					}(g)
				}
				for calls.Load() < int64(50+round*150) {
					// let the workers get going (no sleep: a spin on their progress)
					runtime.Gosched()
				}
				closeErr := db.Close()
				wg.Wait()
				require.NoError(t, closeErr)
				require.Empty(t, bad)

				// After Close: ErrClosed from everything but Stats and Recovery.
				for i, op := range ops {
					err := op.call(db, 99, 1000+i, ckdir)
					switch op.name {
					case "Stats", "Recovery":
						require.NoError(t, err)
					default:
						require.ErrorIs(t, err, ErrClosed, "%s after Close", op.name)
					}
				}
				require.NoError(t, db.Close())
			}
		})
	}
}
