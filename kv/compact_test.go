package kv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// dirBytes sums the sizes of the segment files in dir.
func dirBytes(t *testing.T, dir string) int64 {
	return filesBytes(t, dir, func(name string) bool { _, ok := segment.ParseFileName(name); return ok })
}

// filesBytes sums the sizes of the files of dir whose names pick chooses.
func filesBytes(t *testing.T, dir string, pick func(name string) bool) int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var n int64
	for _, e := range ents {
		if pick(e.Name()) {
			info, err := e.Info()
			require.NoError(t, err)
			n += info.Size()
		}
	}
	return n
}

func history(t *testing.T, db *DB, run RunID, key string) []Version {
	t.Helper()
	h, err := db.History(run, key, 0, 0)
	require.NoError(t, err)
	vs := []Version{}
	for _, v := range h {
		vs = append(vs, v.Version)
	}
	return vs
}

// fillVersions writes n keys, each versions times (key i gets value
// "k<i>-<j>"), in small segments, and returns the versions of key 0.
func fillVersions(t *testing.T, db *DB, keys, versions int) []Version {
	t.Helper()
	var v0 []Version
	for j := range versions {
		for i := range keys {
			v := mustPut(t, db, "r", fmt.Sprintf("k%04d", i), String(fmt.Sprintf("k%d-%d-%s", i, j, "padding to make values longer")))
			if i == 0 {
				v0 = append(v0, v)
			}
		}
	}
	return v0
}

func TestCompactKeepVersions(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{SegmentSize: 16 << 10, Retention: Retention{KeepVersions: 2}, CompactAt: -1}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	v0 := fillVersions(t, db, 200, 5)
	mustPut(t, db, "r", "single", Int(1))
	before := db.Stats()
	require.Greater(t, before.DeadBytes, int64(0))

	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 200*3, st.VersionsDropped)
	require.Greater(t, st.SegmentsIn, 1)
	require.Greater(t, st.BytesReclaimed, int64(0))
	after := db.Stats()
	require.Zero(t, after.DeadBytes)
	require.EqualValues(t, 200*2+1, after.Versions)
	require.Less(t, after.LiveBytes, before.LiveBytes+before.DeadBytes-st.BytesReclaimed/2)

	check := func(db *DB) {
		require.Equal(t, []Version{v0[4], v0[3]}, history(t, db, "r", "k0000"))
		got, err := db.GetAt("r", "k0000", v0[3])
		require.NoError(t, err)
		require.Equal(t, String("k0-3-padding to make values longer"), got.Value)
		_, err = db.GetAt("r", "k0000", v0[2])
		require.ErrorIs(t, err, ErrHistoryTrimmed)
		require.Equal(t, String("k199-4-padding to make values longer"), mustGet(t, db, "r", "k0199").Value)
		require.Equal(t, Int(1), mustGet(t, db, "r", "single").Value)
		err = db.ViewAt(v0[1], func(*Txn) error { return nil })
		require.ErrorIs(t, err, ErrHistoryTrimmed)
		require.NoError(t, db.ViewAt(db.LastVersion(), func(tx *Txn) error {
			keys, err := tx.Keys("r", "", 0)
			require.Len(t, keys, 201)
			return err
		}))
	}
	check(db)
	require.NoError(t, db.Close())
	db, err = Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	check(db)
	// A second compaction finds nothing to drop.
	st, err = db.Compact(t.Context())
	require.NoError(t, err)
	require.Zero(t, st.VersionsDropped)
}

func TestCompactDeletedKeyVanishes(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	v1 := mustPut(t, db, "r", "gone", String("a"))
	mustPut(t, db, "r", "gone", String("b"))
	ok, err := db.Delete("r", "gone")
	require.NoError(t, err)
	require.True(t, ok)
	mustPut(t, db, "r", "stays", String("x"))
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 3, st.VersionsDropped, "both puts and the tombstone")
	check := func(db *DB) {
		require.Empty(t, history(t, db, "r", "gone"))
		_, err := db.GetAt("r", "gone", v1)
		require.ErrorIs(t, err, ErrHistoryTrimmed)
		absent(t, db, "r", "gone")
		require.Equal(t, String("x"), mustGet(t, db, "r", "stays").Value)
	}
	check(db)
	// The key can come back.
	v := mustPut(t, db, "r", "gone", String("again"))
	require.Equal(t, []Version{v}, history(t, db, "r", "gone"))
	require.NoError(t, db.Close())
	db, err = Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	require.Equal(t, []Version{v}, history(t, db, "r", "gone"))
	_, err = db.GetAt("r", "gone", v1)
	require.ErrorIs(t, err, ErrHistoryTrimmed)
}

func TestCompactKeepForKeepsTheWindow(t *testing.T) {
	db := openT(t, &Options{Retention: Retention{KeepFor: time.Hour}, CompactAt: -1})
	mustPut(t, db, "r", "k", Int(1))
	mustPut(t, db, "r", "k", Int(2))
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.Zero(t, st.VersionsDropped, "both are within the hour")
	require.Len(t, history(t, db, "r", "k"), 2)
}

func TestCompactWithoutRetentionKeepsAll(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 4 << 10})
	fillVersions(t, db, 50, 3)
	st, err := db.Compact(t.Context())
	require.NoError(t, err)
	require.Equal(t, CompactStats{}, st)
	require.Len(t, history(t, db, "r", "k0000"), 3)
	require.Zero(t, db.Stats().DeadBytes)
}

func TestCompactCancelled(t *testing.T) {
	db := openT(t, &Options{SegmentSize: 16 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	fillVersions(t, db, 500, 4)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := db.Compact(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, history(t, db, "r", "k0000"), 4, "nothing dropped")
	_, err = db.Compact(t.Context())
	require.NoError(t, err)
	require.Len(t, history(t, db, "r", "k0000"), 1)
}

// The space figure of issue 8, at a tenth of its size: 10,000 keys x 10
// versions with KeepVersions 1, compacted, take at most 1.5x the bytes of
// the same keys written once.
func TestCompactSpace(t *testing.T) {
	const keys = 10_000
	once := t.TempDir()
	db, err := Open(once, &Options{CompactAt: -1})
	require.NoError(t, err)
	fillVersions(t, db, keys, 1)
	require.NoError(t, db.Close())

	dir := t.TempDir()
	db, err = Open(dir, &Options{SegmentSize: 1 << 20, Retention: Retention{KeepVersions: 1}, CompactAt: -1})
	require.NoError(t, err)
	fillVersions(t, db, keys, 10)
	_, err = db.Compact(t.Context())
	require.NoError(t, err)
	require.NoError(t, db.Close())
	ratio := float64(dirBytes(t, dir)) / float64(dirBytes(t, once))
	t.Logf("compacted / written once: %.2f", ratio)
	require.LessOrEqual(t, ratio, 1.5)
}

func TestOpenFindsAMissingSegment(t *testing.T) {
	for _, which := range []string{"newest", "oldest"} {
		t.Run(which, func(t *testing.T) {
			dir := t.TempDir()
			db, err := Open(dir, &Options{SegmentSize: 4 << 10})
			require.NoError(t, err)
			fillVersions(t, db, 100, 2)
			require.NoError(t, db.Close())
			var segs []string
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if _, ok := segment.ParseFileName(e.Name()); ok {
					segs = append(segs, e.Name())
				}
			}
			victim := segs[len(segs)-1]
			if which == "oldest" {
				victim = segs[0]
			}
			require.NoError(t, os.Remove(filepath.Join(dir, victim)))
			_, err = Open(dir, nil)
			require.ErrorIs(t, err, ErrCorrupt)
			require.ErrorContains(t, err, victim)
		})
	}
}

func TestOpenRemovesCompactionLeftovers(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, nil)
	require.NoError(t, err)
	mustPut(t, db, "r", "k", Int(1))
	require.NoError(t, db.Close())
	// An output a crash left before the manifest listed it.
	w, err := segment.CreateCompacted(vfs.Default, dir, 900, 1, 1, 0)
	require.NoError(t, err)
	require.NoError(t, w.Close(true))
	db, err = Open(dir, nil)
	require.NoError(t, err)
	defer db.Close()
	_, err = os.Stat(filepath.Join(dir, segment.FileName(900)))
	require.True(t, errors.Is(err, os.ErrNotExist), "removed")
	require.Equal(t, Int(1), mustGet(t, db, "r", "k").Value)
}

// Compaction in the background and by Compact, racing with writers,
// readers, Scan paging and ViewAt snapshots (run it under -race).
func TestCompactConcurrent(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{SegmentSize: 8 << 10, Retention: Retention{KeepVersions: 2}, CompactAt: 0.2}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	const keys = 64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 16)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Each key's value is its own key and a counter: a reader
				// can tell a wrong value.
				k := fmt.Sprintf("k%02d", (i*2+w)%keys)
				if _, err := db.Put("r", k, String(k+fmt.Sprintf("/%d", i))); err != nil {
					report(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // readers: every value is its key's
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			cursor := ""
			for {
				p, err := db.Scan("r", "", 10, cursor)
				if err != nil {
					report(err)
					return
				}
				for _, e := range p.Entries {
					if s, _ := e.Value.AsString(); len(s) < len(e.Key) || s[:len(e.Key)] != e.Key {
						report(fmt.Errorf("key %s holds %q", e.Key, s))
					}
				}
				if cursor = p.Cursor; cursor == "" {
					break
				}
			}
			at := db.LastVersion()
			err := db.ViewAt(at, func(tx *Txn) error {
				for i := range keys {
					k := fmt.Sprintf("k%02d", i)
					v, ok, err := tx.Get("r", k)
					if err != nil {
						return err
					}
					if ok && v.Version > at {
						return fmt.Errorf("a version above the snapshot")
					}
				}
				return nil
			})
			if err != nil {
				report(err)
			}
		}
	}()
	for range 5 {
		if _, err := db.Compact(t.Context()); err != nil {
			report(err)
		}
		time.Sleep(20 * time.Millisecond) // let writers fill a few segments (not needed for correctness)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	_, err = db.Compact(t.Context())
	require.NoError(t, err)
	want := map[string][]Version{}
	for i := range keys {
		k := fmt.Sprintf("k%02d", i)
		want[k] = history(t, db, "r", k)
		require.LessOrEqual(t, len(want[k]), 2)
	}
	require.NoError(t, db.Close())
	db, err = Open(dir, opts)
	require.NoError(t, err)
	defer db.Close()
	for k, vs := range want {
		require.Equal(t, vs, history(t, db, "r", k), k)
	}
}
