package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// runEventsDir writes a directory whose log holds run events: 10 keys of
// src, a ForkRun of src into dst, then a DropRun of src.
func runEventsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{SegmentSize: 512})
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		_, err := db.Put("src", fmt.Sprintf("k%d", i), kv.Int(int64(i)))
		require.NoError(t, err)
	}
	_, err = db.ForkRun("src", "dst", 0)
	require.NoError(t, err)
	_, err = db.DropRun("src")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	return dir
}

// verify must call a directory Open reads without complaint clean: a
// run event (an empty put of the reserved run "\x00") is not a value,
// but verify decodes it as one and reports CORRUPT (exit 4).
func TestReview3VerifyCallsRunEventsCorrupt(t *testing.T) {
	dir := runEventsDir(t)
	db, err := kv.Open(dir, nil) // Open reads it fine
	require.NoError(t, err)
	require.NoError(t, db.Close())
	r := inspect(t, "verify", dir)
	require.Equal(t, 0, r.code, "verify of a healthy directory with run events:\n%s%s", r.stdout, r.stderr)
}

// stats counts the keys a DropRun deleted as live, and lists the
// reserved event run as a run of the database.
func TestReview3StatsIgnoresRunEvents(t *testing.T) {
	dir := runEventsDir(t)
	r := inspect(t, "stats", "-json", dir)
	require.Equal(t, 0, r.code, r.stderr)
	var rep statsReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	byRun := map[string]runStats{}
	for _, run := range rep.Runs {
		byRun[run.Run] = run
	}
	require.Zero(t, byRun["src"].LiveKeys, "src was dropped, stats says: %+v", byRun["src"])
	_, listed := byRun["\x00"]
	require.False(t, listed, "the reserved event run listed as a run: %+v", byRun["\x00"])
}

// history shows the run events that changed a key's run; dump shows
// events as what they did; stats follows a fork and a drop.
func TestHistoryShowsRunEvents(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, nil)
	require.NoError(t, err)
	_, err = db.Put("src", "k", kv.Int(1))
	require.NoError(t, err)
	_, err = db.ForkRun("src", "dst", 0)
	require.NoError(t, err)
	_, err = db.DropRun("dst")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	r := inspect(t, "history", dir, "dst", "k")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, `forked from run \"src\"`)
	require.Contains(t, r.stdout, `every live key of run \"dst\" deleted`)
	r = inspect(t, "dump", dir)
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, r.stdout, "ERROR")
	r = inspect(t, "stats", "-json", dir)
	require.Equal(t, 0, r.code, r.stderr)
	var rep statsReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Equal(t, []runStats{{Run: "dst", Keys: 1}, {Run: "src", Keys: 1, LiveKeys: 1, Versions: 1, Bytes: rep.Runs[1].Bytes}}, rep.Runs)
}
