package index

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The writer adds long keys (a new 2 MiB chunk every few dozen keys)
// while readers Seek (linking what is queued, under linkMu) and the
// linker goroutine links: findPreds's view, loaded once per call, must
// cover every node it reaches (the window's, and the list's). Under -race
// the arena is on the Go heap and every access is checked.
func TestReview9FindPredsViewWhileArenaGrows(t *testing.T) {
	ix := New()
	defer ix.Close()
	n := 6000
	if raceEnabled {
		n = 2500
	}
	keyOf := func(i int) string {
		// 1..20 KiB keys, the first 24 bytes shared by groups, so that
		// comparisons go past the 16-byte prefix.
		return fmt.Sprintf("%024d|%08d|", i%97, (i*7919)%n) + strings.Repeat("x", 1024*(1+i%20))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				it := ix.Seek("r", "")
				prev := ""
				for i := 0; it.Valid() && i < 50; i++ {
					k := string(it.Chain().Key())
					require.Less(t, prev, k)
					prev = k
					it.Next()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		require.NoError(t, ix.Add("r", keyOf(i), mkrec(uint64(i+1), false)))
	}
	close(stop)
	wg.Wait()
	want := make([]string, n)
	for i := range want {
		want[i] = keyOf(i)
	}
	sort.Strings(want)
	got := keysOf(ix, "r", "")
	require.Equal(t, len(want), len(got))
	require.True(t, want[0] == got[0] && want[n-1] == got[n-1])
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("key %d differs", i)
		}
	}
	t.Logf("arena: %d chunks", ix.mem.held()/chunkBytes)
}
