package main

import (
	"strings"
	"testing"
)

// main.go: "Exit status ...: 0 success, 1 error (I/O, a locked directory),
// 2 bad usage or input". A negative -wait is a bad flag value: exit 2.
func TestReview34NegativeWaitIsBadUsage(t *testing.T) {
	dir := t.TempDir()
	if r := strata(t, "-dir", dir, "put", "a", "1"); r.code != 0 {
		t.Fatalf("put: %+v", r)
	}
	r := strata(t, "-dir", dir, "-wait", "-1s", "get", "a")
	if r.code != 2 || !strings.Contains(r.stderr, "-wait") {
		t.Fatalf("-wait -1s: exit %d, want 2 (bad usage) naming the flag; stderr %q", r.code, r.stderr)
	}
	if r := strata(t, "-dir", dir, "-wait", "0s", "get", "a"); r.code != 0 {
		t.Fatalf("-wait 0s: %+v", r)
	}
}
