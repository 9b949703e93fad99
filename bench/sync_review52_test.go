package main

import (
	"os"
	"strconv"
	"testing"
)

// TestReview52SerialSyncPuts is a helper for counting W5's fsyncs with
// strace (skipped unless REVIEW52_SYNC_ENGINE is set): it opens the engine
// as W5 does (OpenOptions{Sync: true}), makes REVIEW52_SYNC_N serial
// SyncPuts and closes it. Compare N=0 with N=300:
//
//	go test -c -o /tmp/b.test . && REVIEW52_SYNC_ENGINE=pebble REVIEW52_SYNC_N=300 \
//	  strace -f -c -e trace=fsync,fdatasync,msync,sync_file_range /tmp/b.test -test.run SerialSyncPuts
func TestReview52SerialSyncPuts(t *testing.T) {
	name := os.Getenv("REVIEW52_SYNC_ENGINE")
	if name == "" {
		t.Skip("strace helper")
	}
	n, _ := strconv.Atoi(os.Getenv("REVIEW52_SYNC_N"))
	e, err := newEngine(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Open(t.TempDir(), OpenOptions{Sync: true}); err != nil {
		t.Fatal(err)
	}
	k, v := make([]byte, KeyLen), make([]byte, ValueLen)
	for i := range n {
		putKey(k, i)
		if err := e.SyncPut(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}
