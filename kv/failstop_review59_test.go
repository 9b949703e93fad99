package kv

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// review59FS fails segment writes and fsyncs once armed: a write writes
// half its bytes then fails with ENOSPC; an fsync fails with EIO.
type review59FS struct {
	vfs.FS
	failWriteAt atomic.Int64 // 1-based count of segment writes at which writes start failing (0: never)
	failSyncAt  atomic.Int64 // 1-based count of segment fsyncs at which fsyncs start failing (0: never)
	writes      atomic.Int64
	syncs       atomic.Int64
	afterFail   atomic.Int64 // segment writes/truncates that succeeded after a failure was injected
	failTrunc   atomic.Bool  // truncates of segments fail once a failure was injected
	truncOnce   atomic.Bool  // with failTrunc: only the first such truncate fails
	failedOnce  atomic.Bool
}

type review59File struct {
	vfs.File
	fs   *review59FS
	name string
}

func (r *review59FS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &review59File{f, r, name}, nil
}
func (r *review59FS) Create(name string) (vfs.File, error) {
	f, err := r.FS.Create(name)
	return r.wrap(name, f, err)
}
func (r *review59FS) OpenRW(name string) (vfs.File, error) {
	f, err := r.FS.OpenRW(name)
	return r.wrap(name, f, err)
}
func (f *review59File) seg() bool { return strings.HasSuffix(f.name, ".seg") }
func (f *review59File) Write(p []byte) (int, error) {
	if !f.seg() {
		return f.File.Write(p)
	}
	n := f.fs.writes.Add(1)
	if at := f.fs.failWriteAt.Load(); at > 0 && n >= at {
		f.fs.failedOnce.Store(true)
		k, _ := f.File.Write(p[:len(p)/2])
		return k, fmt.Errorf("write %s: %w", f.name, syscall.ENOSPC)
	}
	if f.fs.failedOnce.Load() {
		f.fs.afterFail.Add(1)
	}
	return f.File.Write(p)
}
func (f *review59File) Sync() error {
	if !f.seg() {
		return f.File.Sync()
	}
	n := f.fs.syncs.Add(1)
	if at := f.fs.failSyncAt.Load(); at > 0 && n >= at {
		f.fs.failedOnce.Store(true)
		return fmt.Errorf("fsync %s: %w", f.name, syscall.EIO)
	}
	return f.File.Sync()
}

func (f *review59File) Truncate(size int64) error {
	if f.seg() && f.fs.failTrunc.Load() && f.fs.failedOnce.Load() {
		if f.fs.truncOnce.Load() {
			f.fs.failTrunc.Store(false)
		}
		return fmt.Errorf("truncate %s: %w", f.name, syscall.EIO)
	}
	return f.File.Truncate(size)
}

type review59Result struct {
	key string
	val int64
	ver Version
	err error
}

// Concurrent writers share groups; a write or an fsync of a group fails
// part way through the workload. Every Put acknowledged must open again
// (Strict: after a power loss too), none that failed may, the DB must
// fail-stop (every later write fails, reads go on) and Close must return
// the failure.
func TestReview59FailedGroupWithManyWriters(t *testing.T) {
	type tc = review59Case
	var cases []tc
	for _, d := range []Durability{Strict, Buffered} {
		for _, at := range []int64{3, 7, 20} {
			at := at
			cases = append(cases, tc{fmt.Sprintf("%v/write%d", d, at), d, func(fs *review59FS) { fs.failWriteAt.Store(at) }, false})
		}
	}
	for _, at := range []int64{3, 7, 20} {
		at := at
		cases = append(cases, tc{fmt.Sprintf("strict/fsync%d", at), Strict, func(fs *review59FS) { fs.failSyncAt.Store(at) }, false})
	}
	review59RunFailedGroups(t, cases)
}

// Review 59: the same, but the file system also refuses the truncate that
// is to cut the failed group back. Writer.cutBack was "best effort ...
// bytes it leaves are an unsynced tail that recovery cuts": but without a
// mapping (write(2): darwin, Windows, a file system that cannot reserve
// and map, the Mem FS) the bytes left are whole, valid frames of the
// failed group, which recovery keeps, and Close of the failed DB did not
// try the cut again: Puts that returned an error were there after Close
// and reopen, which issue 6 forbids ("once a group fails, none of its
// bytes may reach the file"). Now Close cuts them (a truncate that
// failed once); where the file system refuses every change to the file
// nothing can remove them, and Close says so (the README's limits).
func TestReview59FailedGroupCutBackRefused(t *testing.T) {
	type tc = review59Case
	review59RunFailedGroups(t, []tc{
		{"strict/fsync3+truncate-once", Strict, func(fs *review59FS) { fs.failSyncAt.Store(3); fs.failTrunc.Store(true); fs.truncOnce.Store(true) }, false},
		{"strict/write3+truncate-once", Strict, func(fs *review59FS) { fs.failWriteAt.Store(3); fs.failTrunc.Store(true); fs.truncOnce.Store(true) }, false},
		{"buffered/write3+truncate-once", Buffered, func(fs *review59FS) { fs.failWriteAt.Store(3); fs.failTrunc.Store(true); fs.truncOnce.Store(true) }, false},
		{"strict/fsync3+truncate", Strict, func(fs *review59FS) { fs.failSyncAt.Store(3); fs.failTrunc.Store(true) }, true},
		{"strict/write3+truncate", Strict, func(fs *review59FS) { fs.failWriteAt.Store(3); fs.failTrunc.Store(true) }, true},
	})
}

type review59Case struct {
	name string
	dur  Durability
	arm  func(fs *review59FS)
	// uncuttable: the file system refuses every truncate of the failed
	// segment, so Close must say that the failed commits' bytes are
	// left (and they may show after a reopen).
	uncuttable bool
}

func review59RunFailedGroups(t *testing.T, cases []review59Case) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := vfs.NewMem()
			fs := &review59FS{FS: mem}
			opts := Options{Durability: c.dur, SegmentSize: 2048, CompactAt: -1, SyncInterval: time.Hour}
			db, err := openMem(t, fs, opts)
			require.NoError(t, err)
			c.arm(fs)
			const writers, per = 6, 40
			res := make([][]review59Result, writers)
			var wg sync.WaitGroup
			for g := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range per {
						k := fmt.Sprintf("g%d-k%03d", g, i)
						v, err := db.Put(DefaultRun, k, Int(int64(g*1000+i)))
						res[g] = append(res[g], review59Result{k, int64(g*1000 + i), v, err})
					}
				}()
			}
			wg.Wait()
			var failure error
			acked := map[string]review59Result{}
			var failedKeys []string
			for _, rs := range res {
				for _, r := range rs {
					if r.err != nil {
						failure = r.err
						failedKeys = append(failedKeys, r.key)
					} else {
						acked[r.key] = r
					}
				}
			}
			require.Error(t, failure, "the injected failure must hit a commit")
			// Fail-stop: later writes fail, reads work.
			_, err = db.Put(DefaultRun, "after", Int(1))
			require.Error(t, err, "a write after the failure must fail")
			for k, r := range acked {
				got := mustGet(t, db, DefaultRun, k)
				require.Equal(t, r.ver, got.Version)
			}
			last := db.LastVersion()
			writesBefore := fs.afterFail.Load()
			cerr := db.Close()
			require.Error(t, cerr, "Close of a failed DB returns the failure")
			if c.uncuttable {
				require.ErrorContains(t, cerr, "could not be cut", "Close says the failed commits' bytes are left")
			} else {
				require.NotContains(t, cerr.Error(), "could not be cut")
			}
			require.Equal(t, writesBefore, fs.afterFail.Load(), "Close of a failed DB wrote segment bytes")
			ro, err := openMem(t, mem, Options{ReadOnly: true})
			require.NoError(t, err, "Close of a failed DB must release the directory")
			require.NoError(t, ro.Close())

			images := map[string]*vfs.Mem{"process": mem.CrashClone(1)}
			if c.dur == Strict {
				images["power"] = mem.CrashClone(0)
			}
			for name, img := range images {
				db2, err := openMem(t, img, Options{Durability: c.dur})
				require.NoError(t, err, "image %s", name)
				for k, r := range acked {
					got, ok, err := db2.Get(DefaultRun, k)
					require.NoError(t, err)
					require.True(t, ok, "image %s: acknowledged %s (v%d) lost", name, k, r.ver)
					require.Equal(t, r.ver, got.Version, "image %s: %s", name, k)
				}
				for _, k := range failedKeys {
					_, ok, err := db2.Get(DefaultRun, k)
					require.NoError(t, err)
					require.False(t, ok && !c.uncuttable, "image %s: the failed Put of %s is visible after reopen", name, k)
				}
				if name == "process" && !c.uncuttable {
					require.Equal(t, last, db2.LastVersion(), "image %s", name)
				}
				require.NoError(t, db2.Close())
			}
			t.Logf("%d acked, %d failed, %s", len(acked), len(failedKeys), errors.Unwrap(failure))
		})
	}
}
