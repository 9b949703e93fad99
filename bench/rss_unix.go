//go:build unix

package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// maxRSS returns the peak resident set size of an exited process, in
// bytes, or 0 if it is not known. Not on Linux, where a child's rusage
// may be its parent's peak (see selfPeakRSS, which the child reports
// instead).
func maxRSS(ps *os.ProcessState) int64 {
	if ps == nil || runtime.GOOS == "linux" {
		return 0
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return ru.Maxrss // bytes there
	}
	return ru.Maxrss * 1024 // kilobytes on Linux and the BSDs
}

// selfPeakRSS returns this process's peak resident set size in bytes
// where the system says it apart from what came before exec (Linux:
// VmHWM, of this address space alone), else 0. A child's rusage does not:
// on Linux exec starts ru_maxrss at the peak of the address space it
// replaced, which under os/exec's vfork-style start is the parent's
// (review 52: a child echoing one line reported the parent's 290 MiB).
func selfPeakRSS() int64 {
	if runtime.GOOS != "linux" {
		return 0
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
