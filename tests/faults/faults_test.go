// Package faults crashes the engine at every file-system operation of a
// workload (on the in-memory FS that keeps only what was synced) and
// injects the faults disks really have: a full disk and a file truncated
// under a live mapping.
package faults

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

const dir = "/db"

// workload runs n operations of kvtest.Workload through db. Each
// commit is recorded in m (under mu) just before it is attempted, at the
// next version (the workload's commits are serial), so that a crash
// image taken while it is in flight can hold it; after() is called once
// it is acknowledged.
func workload(t *testing.T, db *kv.DB, n int, m *kvtest.Model, mu *sync.Mutex, after func()) {
	t.Helper()
	for i := range n {
		op := kvtest.Workload(i)
		mu.Lock()
		want := m.Predict(op)
		require.NoError(t, m.Apply(m.Last()+1, want))
		next := m.Last()
		mu.Unlock()
		res, err := kvtest.Exec(db, op)
		require.NoError(t, err, "op %d", i)
		require.Equal(t, next, res.Version, "op %d", i)
		require.Equal(t, want.N, res.N, "op %d", i)
		after()
	}
}

// crashImage is one way a machine can come back after a crash.
type crashImage struct {
	name string
	make func(m *vfs.Mem, point int) *vfs.Mem
}

// crashImages lists the images each crash point is checked with: the
// unsynced data kept as a prefix (none, half, all: a process crash keeps
// all), or as any subset of its pages, the pages lost zeroed or garbage
// (a power loss after the disk wrote back pages out of order). Pages are
// 64 bytes here so that the small segments of the workload get holes.
func crashImages() []crashImage {
	const page = 64
	zero := func(b []byte) { clear(b) }
	garbage := func(b []byte) {
		for i := range b {
			b[i] = byte(i*131 + 7)
		}
	}
	subset := func(point int, salt uint64) func(string, int64) bool {
		r := rand.New(rand.NewPCG(uint64(point), salt))
		kept := map[string]map[int64]bool{}
		return func(name string, p int64) bool {
			if kept[name] == nil {
				kept[name] = map[int64]bool{}
			}
			k, ok := kept[name][p]
			if !ok {
				k = r.IntN(2) == 0
				kept[name][p] = k
			}
			return k
		}
	}
	first := map[string]int64{}
	return []crashImage{
		{"prefix 0", func(m *vfs.Mem, _ int) *vfs.Mem { return m.CrashClone(0) }},
		{"prefix 1/2", func(m *vfs.Mem, _ int) *vfs.Mem { return m.CrashClone(0.5) }},
		{"process crash", func(m *vfs.Mem, _ int) *vfs.Mem { return m.CrashClone(1) }},
		{"random pages, zeroed holes", func(m *vfs.Mem, i int) *vfs.Mem {
			return m.CrashImage(vfs.Pages(page, subset(i, 1), zero))
		}},
		{"random pages, garbage holes", func(m *vfs.Mem, i int) *vfs.Mem {
			return m.CrashImage(vfs.Pages(page, subset(i, 2), garbage))
		}},
		{"all pages but the first unsynced", func(m *vfs.Mem, _ int) *vfs.Mem {
			clear(first)
			return m.CrashImage(vfs.Pages(page, func(name string, p int64) bool {
				if _, ok := first[name]; !ok {
					first[name] = p
				}
				return p != first[name]
			}, zero))
		}},
	}
}

// Crash after every write, sync, rename, remove, directory sync and
// truncate of a workload with segment rolls, and check every crash image
// of crashImages. Each must open (a torn tail, whatever its shape, is cut,
// never called corruption) and hold the model's state at a prefix of the
// commits, batches and transactions whole or absent. The prefix holds
// every commit acknowledged under the mode's promise: in Strict all of
// them, in every image; in Buffered all of them after a process crash,
// and after a power loss at least those a completed fsync covered.
func TestCrashAtEveryOperation(t *testing.T) {
	images := crashImages()
	for _, mode := range []kv.Durability{kv.Strict, kv.Buffered} {
		t.Run(mode.String(), func(t *testing.T) {
			mem := vfs.NewMem()
			efs := vfs.NewErrorFS(mem, -1, false)
			m := kvtest.NewModel()
			syncedAcked, checked, torn := 0, 0, 0
			points := map[string]int{}
			opts := &kv.Options{Durability: mode, SegmentSize: 1500, SyncInterval: time.Hour}
			// The hook runs on whichever goroutine did the operation: the
			// workload's, or a background one (the Buffered fsyncs, hint
			// files). acked is read before the image is taken: every
			// commit acknowledged by then is in it.
			var mu sync.Mutex
			var ackedNow atomic.Int64
			efs.SetAfter(func(o vfs.Op) {
				op := o.Kind.String()
				acked := int(ackedNow.Load())
				mu.Lock()
				defer mu.Unlock()
				points[op]++
				n := 0
				for _, c := range points {
					n += c
				}
				if o.Kind == vfs.OpSync {
					syncedAcked = acked // every commit acknowledged before this fsync is durable
				}
				for _, im := range images {
					img := im.make(mem, n)
					db, err := kvtest.OpenFS(img, dir, opts)
					at := fmt.Sprintf("crash after %s #%d, %s", op, points[op], im.name)
					require.NoError(t, err, at)
					got := int(db.LastVersion())
					least := acked
					if mode == kv.Buffered && im.name != "process crash" {
						least = syncedAcked
					}
					require.GreaterOrEqual(t, got, least, "%s: acknowledged commits lost", at)
					require.LessOrEqual(t, got, int(m.Last()), "%s: commits invented", at)
					prefix := m.Clone()
					prefix.Truncate(kv.Version(got))
					require.NoError(t, kvtest.Matches(db, prefix, kvtest.WorkloadKeys(), 100), at)
					if db.Recovery().TornBytes > 0 {
						torn++
					}
					require.NoError(t, db.Close())
					checked++
				}
			})
			// A segment creation that never reached its rename: Open removes
			// it, so crashes around a remove are covered too.
			require.NoError(t, mem.MkdirAll(dir))
			require.NoError(t, vfs.WriteFileAtomic(mem, filepath.Join(dir, segment.FileName(9)+".tmp"), []byte("junk")))
			db, err := kvtest.OpenFS(efs, dir, opts)
			require.NoError(t, err)
			workload(t, db, 300, m, &mu, func() { ackedNow.Add(1) })
			require.NoError(t, db.Close())
			total := 0
			for _, n := range points {
				total += n
			}
			t.Logf("%d crash points (%v) × %d images = %d reopened at an acknowledged prefix, %d of them after cutting a torn tail",
				total, points, len(images), checked, torn)
			require.Greater(t, points["rename"], 2, "the workload must roll segments")
			require.Equal(t, 1, points["remove"], "the stale temporary file is removed")
		})
	}
}

// enospcFS makes writes fail like a full disk once limit bytes have been
// written: the write that crosses the limit writes what fits.
type enospcFS struct {
	vfs.FS
	mu             sync.Mutex // writes come from the commit path and background work
	written, limit int64
}

type enospcFile struct {
	vfs.File
	fs *enospcFS
}

func (e *enospcFS) Create(name string) (vfs.File, error) {
	f, err := e.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &enospcFile{f, e}, nil
}

func (e *enospcFS) OpenRW(name string) (vfs.File, error) {
	f, err := e.FS.OpenRW(name)
	if err != nil {
		return nil, err
	}
	return &enospcFile{f, e}, nil
}

func (f *enospcFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	room := f.fs.limit - f.fs.written
	if room >= int64(len(p)) {
		f.fs.written += int64(len(p))
		return f.File.Write(p)
	}
	n, _ := f.File.Write(p[:max(room, 0)])
	f.fs.written += int64(n)
	return n, &os.PathError{Op: "write", Path: "segment", Err: syscall.ENOSPC}
}

// A full disk fails the write with a clean error (wrapping ENOSPC), stops
// further writes, and once space is free the directory reopens with every
// acknowledged commit; the partial frame is truncated as a torn write.
func TestDiskFull(t *testing.T) {
	for _, limit := range []int64{2000, 5000, 12345} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			mem := vfs.NewMem()
			full := &enospcFS{FS: mem, limit: limit}
			db, err := kvtest.OpenFS(full, dir, &kv.Options{Durability: kv.Strict, SegmentSize: 4000})
			require.NoError(t, err)
			var acked []int
			var failure error
			for i := 0; i < 1000; i++ {
				if _, err := db.Put("r", fmt.Sprintf("k%d", i), kv.Int(int64(i))); err != nil {
					failure = err
					break
				}
				acked = append(acked, i)
			}
			require.Error(t, failure, "the disk must fill up")
			require.True(t, errors.Is(failure, syscall.ENOSPC), "%v", failure)
			_, err = db.Put("r", "more", kv.Int(1))
			require.Error(t, err, "no writes after a failed one")
			db.Close()

			full.mu.Lock()
			full.limit = 1 << 40 // space freed
			full.mu.Unlock()
			db, err = kvtest.OpenFS(full, dir, &kv.Options{Durability: kv.Strict})
			require.NoError(t, err)
			defer db.Close()
			require.EqualValues(t, len(acked), db.LastVersion())
			for _, i := range acked {
				v, ok, err := db.Get("r", fmt.Sprintf("k%d", i))
				require.NoError(t, err)
				require.True(t, ok)
				require.EqualValues(t, i, must(v.Value.AsInt()))
			}
			_, err = db.Put("r", "after", kv.Int(1))
			require.NoError(t, err)
		})
	}
}

func must[T any](v T, _ bool) T { return v }

// A sealed segment truncated under the live mapping (by another process,
// say) must not crash the host process: the read that touches the missing
// pages fails with ErrCorrupt, and once the file is whole again the
// directory reopens.
func TestSegmentTruncatedUnderMapping(t *testing.T) {
	dataDir := t.TempDir()
	db, err := kv.Open(dataDir, &kv.Options{SegmentSize: 64 << 10})
	require.NoError(t, err)
	big := make([]byte, 3000) // incompressible, so the segments are large
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	for i := 0; i < 100; i++ {
		_, err := db.Put("r", fmt.Sprintf("k%03d", i), kv.Bytes([]byte(fmt.Sprintf("%d%s", i, big))))
		require.NoError(t, err)
	}
	segs, err := filepath.Glob(filepath.Join(dataDir, "*"+segment.Ext))
	require.NoError(t, err)
	slices.Sort(segs)
	require.Greater(t, len(segs), 2)
	victim := segs[0] // sealed and mapped
	orig, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(victim, 4096)) // keep the first page only

	faults := 0
	for i := 0; i < 100; i++ {
		v, ok, err := db.Get("r", fmt.Sprintf("k%03d", i))
		if err != nil {
			require.ErrorIs(t, err, kv.ErrCorrupt)
			require.Contains(t, err.Error(), filepath.Base(victim))
			faults++
			continue
		}
		require.True(t, ok)
		b, _ := v.Value.AsBytes()
		require.Equal(t, fmt.Sprintf("%d%s", i, big), string(b))
	}
	require.Positive(t, faults, "reads past the truncation must fail")
	t.Logf("%d reads hit the truncated mapping and failed cleanly", faults)

	require.NoError(t, os.WriteFile(victim, orig, 0o644)) // the fault is gone
	require.NoError(t, db.Close())
	db, err = kv.Open(dataDir, nil)
	require.NoError(t, err)
	defer db.Close()
	for i := 0; i < 100; i++ {
		_, ok, err := db.Get("r", fmt.Sprintf("k%03d", i))
		require.NoError(t, err)
		require.True(t, ok)
	}
}

// Once a group's write fails, none of its bytes may reach the file: not
// at Close once space is free again, not later. Close of the failed DB
// returns the failure and writes nothing; the directory reopens with
// exactly the acknowledged commits. With zeroRoom the failing write
// writes nothing at all, so a later flush of the kept buffer would make
// the failed Put appear after reopen.
func TestFailedWriteNeverReachesTheFile(t *testing.T) {
	for _, tc := range []struct {
		limit    int64
		zeroRoom bool
	}{{2000, false}, {5000, false}, {12345, false}, {0, true}} {
		t.Run(fmt.Sprintf("limit=%d/zero=%v", tc.limit, tc.zeroRoom), func(t *testing.T) {
			mem := vfs.NewMem()
			full := &enospcFS{FS: mem, limit: 1 << 40}
			if !tc.zeroRoom {
				full.limit = tc.limit
			}
			db, err := kvtest.OpenFS(full, dir, &kv.Options{Durability: kv.Strict, SegmentSize: 4000})
			require.NoError(t, err)
			acked := 0
			var failure error
			for i := 0; i < 1000; i++ {
				if tc.zeroRoom && i == 10 {
					full.mu.Lock()
					full.limit = full.written // the next write has no room at all
					full.mu.Unlock()
				}
				if _, err := db.Put("r", fmt.Sprintf("k%d", i), kv.Int(int64(i))); err != nil {
					failure = err
					break
				}
				acked++
			}
			require.Error(t, failure, "the disk must fill up")
			require.ErrorIs(t, failure, syscall.ENOSPC)
			full.mu.Lock()
			full.limit = 1 << 40 // space freed before Close
			full.mu.Unlock()
			require.Error(t, db.Close(), "Close of a failed DB returns the failure")

			db, err = kvtest.OpenFS(mem, dir, &kv.Options{Durability: kv.Strict})
			require.NoError(t, err, "the failed group's bytes must not have reached the file")
			defer db.Close()
			require.EqualValues(t, acked, db.LastVersion())
			_, ok, err := db.Get("r", fmt.Sprintf("k%d", acked))
			require.NoError(t, err)
			require.False(t, ok, "the Put that failed must be absent")
		})
	}
}
