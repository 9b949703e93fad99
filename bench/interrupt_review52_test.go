//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const review52ParentEnv = "REVIEW52_PARENT_ARGS"

// TestReview52ParentHelper runs the bench's parent (run) with the
// arguments in REVIEW52_PARENT_ARGS, for TestReview52InterruptedRunCleansUp.
func TestReview52ParentHelper(t *testing.T) {
	args := os.Getenv(review52ParentEnv)
	if args == "" {
		t.Skip("helper of TestReview52InterruptedRunCleansUp")
	}
	os.Exit(run(strings.Fields(args), os.Stdout, os.Stderr))
}

// review52Children returns the pids of pid's children.
func review52Children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(s); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// TestReview52InterruptedRunCleansUp: each engine runs "in a fresh
// os.MkdirTemp directory that the parent removes afterwards" (README).
// A run stopped with Ctrl-C (SIGINT to the parent) removes nothing: the
// parent has no signal handling and its deferred RemoveAll never runs,
// and its child is not stopped either (it runs on, orphaned, in the
// directory). Expected: no strata-bench-* directory left and no child
// running a second after the parent has exited.
func TestReview52InterruptedRunCleansUp(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("needs /proc")
	}
	// Orphans of this test come back to it, to be reaped (not left as
	// zombies under init).
	syscall.RawSyscall(syscall.SYS_PRCTL, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0)
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReview52ParentHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), review52ParentEnv+"=-scale 0.2 -engines strata -fsync-probe 0 -duration 4s -sync-duration 4s -tmpdir "+tmp)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var children []int
	defer func() {
		for _, c := range children {
			syscall.Kill(c, syscall.SIGKILL) // the orphan this test started, by pid
			var ws syscall.WaitStatus
			syscall.Wait4(c, &ws, 0, nil)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(tmp, "strata-bench-strata-*"))
		children = review52Children(cmd.Process.Pid)
		if len(m) > 0 && len(children) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(children) == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the parent started no child")
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait() // the parent waited for its child to end before it exited
	var alive []int
	for _, c := range children {
		if syscall.Kill(c, 0) == nil {
			if b, err := os.ReadFile("/proc/" + strconv.Itoa(c) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
				alive = append(alive, c)
			}
		}
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "strata-bench-*"))
	if len(left) > 0 || len(alive) > 0 {
		t.Errorf("after SIGINT to the bench: directories left %v, children still running %v", left, alive)
	}
}
