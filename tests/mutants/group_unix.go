//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// killGroup makes cmd a process group of its own and its cancellation
// kill the whole group: go test's test binaries as well as go.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
