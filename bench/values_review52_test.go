//go:build unix

package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// review52Values returns the values W1's fill writes for keys 0..n-1
// (worker 1's order and value stream), by key number.
func review52Values(c *child, n int) [][]byte {
	w := c.newWorker(1)
	vals := make([][]byte, n)
	for _, i := range w.rng.Perm(n) {
		vals[i] = append([]byte(nil), w.randomValue()...)
	}
	return vals
}

const review52KillEnv = "REVIEW52_KILL_DIR"

// TestReview52KillChild is the child of TestReview52W1PutsSurviveKill: it
// runs W1's fill through strataEngine.Put and kills itself with SIGKILL,
// no Close, no Flush.
func TestReview52KillChild(t *testing.T) {
	dir := os.Getenv(review52KillEnv)
	if dir == "" {
		t.Skip("child of TestReview52W1PutsSurviveKill")
	}
	n, _ := strconv.Atoi(os.Getenv(review52KillEnv + "_N"))
	c := &child{name: "strata", dir: dir, cfg: Config{Keys: n, Seed: 1}, log: io.Discard}
	e, err := c.open("w1", OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := c.newWorker(1)
	for _, i := range w.rng.Perm(n) {
		putKey(w.key, i)
		if err := e.Put(w.key, w.randomValue()); err != nil {
			t.Fatal(err)
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	time.Sleep(time.Minute)
}

// TestReview52W1PutsSurviveKill: the W1 target is for single
// puts "keeping Buffered's promise (the commit is in the OS when Put
// returns)". The child runs W1 on Strata exactly as the harness does (the
// adapter, Buffered, one reused key and value buffer) and is killed with
// SIGKILL right after its last Put; every key must then be there with the
// value W1 wrote. (Passes: kept as a guard on the W1 configuration.)
func TestReview52W1PutsSurviveKill(t *testing.T) {
	const n = 20000
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReview52KillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), review52KillEnv+"="+dir, review52KillEnv+"_N="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v\n%s", err, out)
	}
	c := &child{name: "strata", dir: dir, cfg: Config{Keys: n, Seed: 1}, log: io.Discard}
	want := review52Values(c, n)
	e, err := c.open("w1", OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	k := make([]byte, KeyLen)
	lost, wrong := 0, 0
	for i := range n {
		putKey(k, i)
		v, ok, err := e.Get(k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			lost++
		} else if !bytes.Equal(v, want[i]) {
			wrong++
		}
	}
	if lost+wrong > 0 {
		t.Errorf("after kill -9 following W1's last Put: %d of %d keys lost, %d with a wrong value", lost, n, wrong)
	}
	_ = filepath.Join
}

// TestReview52ReadsReturnWhatW1Wrote: W2 only checks a value's length and
// W4 a scan's count, so an adapter returning the wrong bytes would be
// measured as fast as a right one. Through each adapter, after W1's fill
// (reused buffers) and a reopen as in W6: every Get returns the value W1
// wrote for its key, and a W4 scan of each prefix returns its 100 keys
// with values. (Passes: kept as a guard on the adapters.)
func TestReview52ReadsReturnWhatW1Wrote(t *testing.T) {
	const n = 2000
	for _, name := range engineNames {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Keys: n, HistoryKeys: 100, ReadCap: time.Second, SyncCap: time.Second, Seed: 1}
			review52Fill(t, name, dir, cfg)
			c := &child{name: name, dir: dir, cfg: cfg, log: io.Discard}
			want := review52Values(c, n)
			e, err := c.open("w1", OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			k := make([]byte, KeyLen)
			var buf []byte
			for i := range n {
				putKey(k, i)
				v, ok, err := e.Get(k, buf)
				if err != nil || !ok || !bytes.Equal(v, want[i]) {
					t.Fatalf("Get %s: ok=%v err=%v, value matches=%v", k, ok, err, bytes.Equal(v, want[i]))
				}
				buf = v[:0]
			}
			for p := 0; p < n/100; p++ {
				putKey(k, p*100)
				got, total, err := e.Scan(k[:PrefixLen], 100)
				if err != nil || got != 100 || total != 100*(KeyLen+ValueLen) {
					t.Fatalf("Scan %s: %d entries, %d bytes, %v; want 100, %d", k[:PrefixLen], got, total, err, 100*(KeyLen+ValueLen))
				}
			}
		})
	}
}
