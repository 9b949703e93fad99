package kv

import (
	"slices"
	"strings"
	"testing"
)

// Forks and drops between runs with the longest names, and names that
// are not UTF-8, survive reopen, with Runs listing them.
func TestReview64RunEventNames(t *testing.T) {
	dir := t.TempDir()
	db := open64(t, dir, nil)
	M := m64{t}
	long1 := RunID(strings.Repeat("s", MaxRunBytes))
	long2 := RunID(strings.Repeat("\xff", MaxRunBytes))
	odd := RunID("f\x01\xfe")
	v1 := M.v(db.Put(long1, "k", Int(1)))
	M.v(db.Put(long1, "k", Int(2)))
	M.v(db.ForkRun(long1, long2, v1))
	M.v(db.ForkRun(long2, odd, 0))
	M.v(db.DropRun(long1))
	check := func(stage string) {
		runs := M.r(db.Runs())
		if !slices.Equal(runs, []RunID{odd, long2}) {
			t.Errorf("%s: Runs = %q", stage, runs)
		}
		if g := get64(t, db, odd, "k"); g != "1" {
			t.Errorf("%s: odd.k = %s", stage, g)
		}
		if g := get64(t, db, long1, "k"); g != "-" {
			t.Errorf("%s: long1.k = %s", stage, g)
		}
	}
	check("live")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open64(t, dir, nil)
	defer db.Close()
	check("reopen")
}
