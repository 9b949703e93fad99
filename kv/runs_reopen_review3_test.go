package kv_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

type r3state struct {
	Runs    []kv.RunID
	Keys    map[kv.RunID][]string
	Hist    map[string][]kv.Versioned
	Changes map[kv.RunID][]kv.Change
}

func r3dump(t *testing.T, db *kv.DB, runs ...kv.RunID) r3state {
	t.Helper()
	s := r3state{Keys: map[kv.RunID][]string{}, Hist: map[string][]kv.Versioned{}, Changes: map[kv.RunID][]kv.Change{}}
	var err error
	s.Runs, err = db.Runs()
	require.NoError(t, err)
	for _, r := range runs {
		s.Keys[r], err = db.Keys(r, "", 0)
		require.NoError(t, err)
		for _, k := range []string{"a", "b", "c", "p/1", "p/2"} {
			h, err := db.History(r, k, 0, 0)
			require.NoError(t, err)
			s.Hist[string(r)+"/"+k] = h
		}
		var all []kv.Change
		after := kv.Version(0)
		for {
			cs, err := db.Changes(r, "", after, 3)
			require.NoError(t, err)
			if len(cs) == 0 {
				break
			}
			all = append(all, cs...)
			after = cs[len(cs)-1].Version
		}
		s.Changes[r] = all
	}
	return s
}

func TestReview3HoldsReopenCheckpointCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := &kv.Options{SegmentSize: 400, CompactAt: -1}
	db, err := kv.Open(dir, opts)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		for _, k := range []string{"a", "b", "p/1", "p/2"} {
			r3put(t, db, "src", k, kv.Int(int64(i)))
		}
	}
	r3put(t, db, "dst", "c", kv.Int(7))
	_, err = db.DropRun("dst")
	require.NoError(t, err)
	mid := r3put(t, db, "src", "a", kv.Int(100))
	_, err = db.Delete("src", "b")
	require.NoError(t, err)
	r3put(t, db, "src", "a", kv.Int(101))
	fork, err := db.ForkRun("src", "dst", mid)
	require.NoError(t, err)
	r3put(t, db, "dst", "a", kv.Int(200))
	fork2, err := db.ForkRun("dst", "dst2", 0)
	require.NoError(t, err)
	_, err = db.DropRun("src")
	require.NoError(t, err)
	r3put(t, db, "src", "a", kv.Int(300))
	r3put(t, db, "dst2", "c", kv.Int(400))
	_, err = db.DropRun("dst")
	require.NoError(t, err)
	r3put(t, db, "dst", "p/1", kv.Int(500))
	t.Logf("fork %d fork2 %d last %d", fork, fork2, db.LastVersion())
	want := r3dump(t, db, "src", "dst", "dst2")
	// Checkpoint
	cp := filepath.Join(t.TempDir(), "cp")
	cv, err := db.Checkpoint(cp)
	require.NoError(t, err)
	require.Equal(t, db.LastVersion(), cv)
	require.NoError(t, db.Close())

	check := func(name string, dir string, ro bool) {
		t.Helper()
		db, err := kv.Open(dir, &kv.Options{ReadOnly: ro})
		require.NoError(t, err, name)
		require.Equal(t, want, r3dump(t, db, "src", "dst", "dst2"), name)
		require.NoError(t, db.Close())
	}
	check("checkpoint", cp, false)
	check("hints", dir, false)
	check("readonly", dir, true)
	hs, _ := filepath.Glob(filepath.Join(dir, "*.hint"))
	for _, h := range hs {
		require.NoError(t, os.Remove(h))
	}
	check("no hints", dir, false)

	// compaction with KeepVersions 1, then reopen
	db, err = kv.Open(dir, &kv.Options{SegmentSize: 400, CompactAt: -1, Retention: kv.Retention{KeepVersions: 1}})
	require.NoError(t, err)
	_, err = db.Compact(context.Background())
	require.NoError(t, err)
	after := r3dump2(t, db)
	require.NoError(t, db.Close())
	db, err = kv.Open(dir, &kv.Options{SegmentSize: 400, CompactAt: -1, Retention: kv.Retention{KeepVersions: 1}})
	require.NoError(t, err)
	require.Equal(t, after, r3dump2(t, db))
	hs, _ = filepath.Glob(filepath.Join(dir, "*.hint"))
	for _, h := range hs {
		require.NoError(t, os.Remove(h))
	}
	require.NoError(t, db.Close())
	db, err = kv.Open(dir, &kv.Options{SegmentSize: 400, CompactAt: -1, Retention: kv.Retention{KeepVersions: 1}})
	require.NoError(t, err)
	require.Equal(t, after, r3dump2(t, db))
	require.NoError(t, db.Close())
}

// without Changes (trimmed after compaction)
func r3dump2(t *testing.T, db *kv.DB) string {
	t.Helper()
	out := ""
	runs, err := db.Runs()
	require.NoError(t, err)
	out += fmt.Sprint(runs, "\n")
	for _, r := range []kv.RunID{"src", "dst", "dst2"} {
		keys, err := db.Keys(r, "", 0)
		require.NoError(t, err)
		out += fmt.Sprint(r, keys, "\n")
		for _, k := range []string{"a", "b", "c", "p/1", "p/2"} {
			h, err := db.History(r, k, 0, 0)
			require.NoError(t, err)
			out += fmt.Sprint(r, k, h, "\n")
			for v := kv.Version(1); v <= db.LastVersion(); v++ {
				g, err := db.GetAt(r, k, v)
				out += fmt.Sprint(v, g, err != nil, " ")
			}
			out += "\n"
		}
	}
	return out
}
