package offheap

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// freeAsLastUse fills an arena with n mappings and frees it, Free being
// the arena's last use: the ordinary `var a Arena; ...; a.Free()`.
//
//go:noinline
func freeAsLastUse(n int) {
	a := new(Arena)
	for range n {
		a.Bytes(minMapped)[0] = 1
	}
	a.Free()
}

// Free must keep its arena alive until it is done: once Free has loaded
// a.o.m, nothing references the owner, so a collection during Free's
// munmap loop queues the AddCleanup safety net, which then runs
// mappings.free on the same mappings concurrently. Both loops munmap the
// same addresses (the second may unmap memory mapped anew in between),
// and whichever finishes second indexes the m.lens the other has set to
// nil: the process dies. Run in a child process so the crash becomes a
// test failure with its output.
func TestReview13FreeRacesItsOwnCleanup(t *testing.T) {
	if !Enabled {
		t.Skip("arenas use the heap here")
	}
	if os.Getenv("REVIEW13_FREE_CHILD") == "1" {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
					runtime.GC()
				}
			}
		}()
		for range 30 {
			freeAsLastUse(4000)
		}
		close(stop)
		<-done
		runtime.GC()
		runtime.GC()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReview13FreeRacesItsOwnCleanup$", "-test.count=1")
	cmd.Env = append(os.Environ(), "REVIEW13_FREE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("Free raced the arena's cleanup and the process died (%v):\n%.3000s", err, out)
	}
}

// (The review's third test, that a use after Free faults as the package
// doc then claimed, showed the claim false: the doc now says what
// happens instead, and nothing can assert it.)
