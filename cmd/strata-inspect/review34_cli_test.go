package main

import (
	"testing"

	"github.com/strata-kv/strata/kv"
)

// main.go: "Exit status: 0 ok, 1 error, 2 bad usage or input, 3 not found".
// An empty RUN breaks the run rules (kv.ErrInvalidRun): bad input, exit 2,
// not a successful "has no versions".
func TestReview34HistoryEmptyRunIsBadInput(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Put(kv.DefaultRun, "a", kv.Int(1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, args := range [][2]string{{"", "a"}, {"default", ""}, {"default", "_strata/x"}, {"r\x00", "a"}} {
		r := inspect(t, "history", dir, args[0], args[1])
		if r.code != 2 || r.stdout != "" {
			t.Fatalf("history DIR %q %q: exit %d, want 2 (bad input); stdout %q stderr %q", args[0], args[1], r.code, r.stdout, r.stderr)
		}
	}
	if r := inspect(t, "history", dir, "default", "a"); r.code != 0 {
		t.Fatalf("history DIR default a: exit %d; stderr %q", r.code, r.stderr)
	}
}
