package vfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// lockRetry is how often a lock with a timeout is tried again.
const lockRetry = 10 * time.Millisecond

// ownerOffset is where a writer records its process id in the lock file.
// Byte 0 is left alone: on Windows the lock covers it and no other handle
// may read or write it.
const ownerOffset = 1

// ownerRecord is the fixed-width record a writer leaves in the lock file.
func ownerRecord() []byte {
	return []byte(fmt.Sprintf("strata writer pid %-12d\n", os.Getpid()))
}

// osLock is a held directory lock.
type osLock struct{ f *flock.Flock }

func (l osLock) Close() error { return l.f.Close() }

// Lock implements FS with flock(2) on unix and LockFileEx on Windows
// (github.com/gofrs/flock). A writer records its process id in the file,
// so that a refused Open can say who holds the directory.
func (osFS) Lock(name string, shared bool, timeout time.Duration) (io.Closer, error) {
	flag := os.O_CREATE | os.O_RDONLY
	if shared {
		if _, err := os.Stat(name); err == nil {
			flag = os.O_RDONLY // works on read-only media
		}
	}
	f := flock.New(name, flock.SetFlag(flag), flock.SetPermissions(0o600))
	try := f.TryLock
	if shared {
		try = f.TryRLock
	}
	ok, err := try()
	if shared && flag&os.O_CREATE != 0 && errors.Is(err, syscall.EROFS) {
		// No lock file, and none can be made on read-only media: no
		// writer can open the directory either, so there is nothing to
		// share a lock with. (Where this user may not write but another
		// may, the Open fails: a writer could come.)
		f.Close()
		return io.NopCloser(nil), nil
	}
	if err == nil && !ok && timeout > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if shared {
			ok, err = f.TryRLockContext(ctx, lockRetry)
		} else {
			ok, err = f.TryLockContext(ctx, lockRetry)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = nil
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if !ok {
		f.Close()
		return nil, &LockedError{Holder: holder(name, shared)}
	}
	if !shared {
		// Best effort: the record only improves a message.
		if w, err := os.OpenFile(name, os.O_WRONLY, 0); err == nil {
			w.WriteAt(ownerRecord(), ownerOffset)
			w.Close()
		}
	}
	return osLock{f}, nil
}

// holder describes who holds the lock on name that a request (shared or
// not) could not get.
func holder(name string, shared bool) string {
	writer := true
	if !shared {
		// Readers let another reader in; a writer does not.
		probe := flock.New(name, flock.SetFlag(os.O_RDONLY))
		if ok, err := probe.TryRLock(); err == nil && ok {
			writer = false
		}
		probe.Close()
	}
	pids := lockPIDs(name)
	if writer && len(pids) == 0 {
		if b, err := readOwner(name); err == nil {
			pids = []string{b}
		}
	}
	who := "a writer"
	if !writer {
		who = "read-only opens"
	}
	if len(pids) > 0 {
		return fmt.Sprintf("held by %s (process %s)", who, strings.Join(pids, ", "))
	}
	return "held by " + who
}

// readOwner returns the process id a writer recorded in the lock file.
func readOwner(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, len(ownerRecord()))
	n, _ := f.ReadAt(b, ownerOffset)
	fields := strings.Fields(string(b[:n]))
	if len(fields) != 4 || fields[0] != "strata" || fields[2] != "pid" {
		return "", errors.New("no owner recorded")
	}
	if _, err := strconv.Atoi(fields[3]); err != nil {
		return "", err
	}
	return fields[3], nil
}
