//go:build unix

package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// review52Allocated returns the bytes the regular files under dir hold
// on disk (st_blocks x 512).
func review52Allocated(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return err
		}
		total += st.Blocks * 512
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// review52Fill runs W1's fill (as fillAndReads does) for engine name at
// cfg's size into dir/w1 and closes the engine.
func review52Fill(t *testing.T, name, dir string, cfg Config) {
	t.Helper()
	c := &child{name: name, dir: dir, cfg: cfg, log: io.Discard, res: &ChildResult{
		Metrics: map[string]float64{}, Ops: map[string]int64{}, Seconds: map[string]float64{}}}
	e, err := c.open("w1", OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := c.newWorker(1)
	for _, i := range w.rng.Perm(cfg.Keys) {
		putKey(w.key, i)
		if err := e.Put(w.key, w.randomValue()); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReview52BytesOnDiskArePebblesDiskUse: the row is "W1 bytes on
// disk", and its ratio is Strata / Pebble. dirBytes sums the files'
// apparent sizes (workloads.go dirBytes: info.Size()), but Pebble
// preallocates its WAL files past their length (fallocate with
// KEEP_SIZE): what Pebble holds on disk after W1 is more than the
// table says, and Strata's ratio to it is overstated.
func TestReview52BytesOnDiskArePebblesDiskUse(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("st_blocks")
	}
	dir := t.TempDir()
	review52Fill(t, "pebble", dir, newConfig(0.1, time.Second, time.Second, 1))
	w1 := filepath.Join(dir, "w1")
	apparent, err := dirBytes(w1)
	if err != nil {
		t.Fatal(err)
	}
	onDisk := review52Allocated(t, w1)
	t.Logf("pebble W1 at 100k keys: dirBytes %.1f MiB, allocated %.1f MiB", float64(apparent)/(1<<20), float64(onDisk)/(1<<20))
	if float64(apparent) < 0.9*float64(onDisk) {
		t.Errorf("W1 bytes on disk for Pebble = %.1f MiB, but its files hold %.1f MiB of disk", float64(apparent)/(1<<20), float64(onDisk)/(1<<20))
	}
	_ = os.Getpid
}
