package index

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// Seek and SeekLT see every key whose Add returned before the call, while
// the writer adds keys (in bursts below and above linkMin, several runs)
// and the linker goroutine runs; Drop runs beside them.
func TestReview7SeekSeesAddedKeys(t *testing.T) {
	ix := New()
	defer ix.Close()
	n := 60000
	if raceEnabled || testing.Short() {
		n = 15000
	}
	r := rand.New(rand.NewPCG(9, 9))
	keys := make([]string, n)
	runs := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%016x", r.Uint64())[:1+r.IntN(16)] + "-" + fmt.Sprint(i)
		runs[i] = []string{"a", "b", "c"}[r.IntN(3)]
	}
	var added atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan string, 10)
	stop := make(chan struct{})
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(g), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				m := added.Load()
				if m == 0 {
					continue
				}
				i := rr.IntN(int(m))
				if rr.IntN(2) == 0 {
					it := ix.Seek(runs[i], keys[i])
					if !it.Valid() || it.Chain().KeyView() != keys[i] {
						errs <- fmt.Sprintf("Seek(%q, %q) after its Add missed it", runs[i], keys[i])
						return
					}
				} else {
					it := ix.SeekLT(runs[i], keys[i]+"\x00")
					if !it.Valid() || it.Chain().KeyView() != keys[i] {
						errs <- fmt.Sprintf("SeekLT(%q, %q+0) after its Add missed it", runs[i], keys[i])
						return
					}
				}
			}
		}()
	}
	v := uint64(0)
	for i := 0; i < n; {
		burst := []int{1, 10, 500, 1023, 1024, 3000}[r.IntN(6)]
		for j := 0; j < burst && i < n; j++ {
			v++
			require.NoError(t, ix.Add(runs[i], keys[i], mkrec(v, false)))
			i++
			added.Store(int64(i))
		}
	}
	close(stop)
	wg.Wait()
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
	ix.linkPending()
	ix.linkMu.Lock()
	ix.linkMu.Unlock()
	checkLevels(t, ix, n)
}
