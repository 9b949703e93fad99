package vfs

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// lockPIDs returns the ids of the processes holding a lock on name, from
// /proc/locks (FLOCK lines name the file as major:minor:inode).
func lockPIDs(name string) []string {
	st, err := os.Stat(name)
	if err != nil {
		return nil
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return nil
	}
	dev := uint64(sys.Dev)
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(dev), unix.Minor(dev), sys.Ino)
	var pids []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		// "1: FLOCK  ADVISORY  WRITE 1234 fd:01:123456 0 EOF"
		if len(f) >= 6 && f[1] == "FLOCK" && f[5] == want && !slices.Contains(pids, f[4]) {
			pids = append(pids, f[4])
		}
	}
	return pids
}
