// Package crash kills a writer process with SIGKILL at random moments and
// checks what a reopen finds, and damages segment files byte by byte.
package crash

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
)

// trials returns the trials per mode: 20, or STRATA_CRASH_TRIALS.
func trials(t *testing.T) int {
	if s := os.Getenv("STRATA_CRASH_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "STRATA_CRASH_TRIALS")
		return n
	}
	return 20
}

func buildWriter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "writer")
	out, err := exec.Command("go", "build", "-o", bin, "./writer").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

const workers = 4

// expected replays worker w's operations 0..n-1 (kvtest.WorkerOp) on
// kvtest's model and returns, per key, the values written, oldest first
// (nil for a deletion). The model numbers the worker's commits 1, 2, ...
// on its own: only the values are compared.
func expected(w, n int) map[string][]*int64 {
	m := kvtest.NewModel()
	for j := range n {
		if e := m.Predict(kvtest.WorkerOp(w, j)); e.Writes != nil {
			if err := m.Apply(m.Last()+1, e); err != nil {
				panic(err)
			}
		}
	}
	hist := map[string][]*int64{}
	for _, k := range m.Keys() {
		for _, v := range slices.Backward(m.History(k)) {
			if v.Deleted {
				hist[k.Key] = append(hist[k.Key], nil)
				continue
			}
			x, _ := v.Value.AsInt()
			hist[k.Key] = append(hist[k.Key], &x)
		}
	}
	return hist
}

type acked struct {
	n        int            // operations acknowledged (they are 0..n-1)
	versions map[int]uint64 // op -> version, for puts and batches
}

func TestKill9(t *testing.T) {
	bin := buildWriter(t)
	n := trials(t)
	// "padded" is buffered with a 3 KB commit before every fourth operation:
	// flushes that reach the segment by pwrite, not a mapping's copy.
	for _, mode := range []string{"buffered", "strict", "padded"} {
		t.Run(mode, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
			totalAcks := 0
			for trial := 0; trial < n; trial++ {
				dir := t.TempDir()
				acks := killOnce(t, bin, dir, mode, time.Duration(5+r.IntN(120))*time.Millisecond)
				check(t, dir, acks, mode == "padded")
				for _, a := range acks {
					totalAcks += a.n
				}
			}
			t.Logf("%d kill -9 trials, %d acknowledged operations checked", n, totalAcks)
		})
	}
}

// killOnce runs the writer on dir, kills it with SIGKILL after d, and
// returns what it acknowledged.
func killOnce(t *testing.T, bin, dir, mode string, d time.Duration) [workers]acked {
	t.Helper()
	args := []string{"-dir", dir, "-workers", strconv.Itoa(workers)}
	switch mode {
	case "strict":
		args = append(args, "-strict")
	case "padded":
		args = append(args, "-pad", "3000")
	}
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	require.True(t, sc.Scan(), "writer did not start: %s", stderr.String())
	require.Equal(t, "ready", sc.Text())
	timer := time.AfterFunc(d, func() { cmd.Process.Signal(syscall.SIGKILL) })
	defer timer.Stop()

	var acks [workers]acked
	for i := range acks {
		acks[i].versions = map[int]uint64{}
	}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "ack" {
			continue // a line cut by the kill
		}
		w, _ := strconv.Atoi(f[1])
		j, _ := strconv.Atoi(f[2])
		v, _ := strconv.ParseUint(f[3], 10, 64)
		require.Equal(t, acks[w].n, j, "worker %d acknowledged out of order", w)
		acks[w].n = j + 1
		if v != 0 {
			acks[w].versions[j] = v
		}
	}
	err = cmd.Wait()
	require.Error(t, err, "the writer must have been killed: %s", stderr.String())
	require.Empty(t, stderr.String())
	return acks
}

// check reopens dir (twice) and verifies it against the acknowledgements.
func check(t *testing.T, dir string, acks [workers]acked, padded bool) {
	t.Helper()
	first := verify(t, dir, acks, padded)
	second := verify(t, dir, acks, padded)
	require.True(t, first == second, "a second reopen found a different state")
}

func verify(t *testing.T, dir string, acks [workers]acked, padded bool) string {
	t.Helper()
	db, err := kv.Open(dir, nil)
	require.NoError(t, err)
	defer db.Close()
	var dump strings.Builder
	seen := map[kv.Version][]string{}
	for w, a := range acks {
		lo, hi := expected(w, a.n), expected(w, a.n+1) // the op in flight may or may not have landed
		var keys []string
		for k := range hi {
			keys = append(keys, k)
		}
		slices.Sort(keys) // a deterministic dump
		inFlightLanded := -1
		for _, k := range keys {
			h, err := db.History("crash", k, 0, 0)
			require.NoError(t, err)
			// Get answers from the index's newest version, History from
			// the walk down a key's versions: the two must agree (review 61:
			// the harness read History only).
			g, ok, err := db.Get("crash", k)
			require.NoError(t, err)
			if len(h) > 0 && !h[0].Deleted {
				require.True(t, ok, "worker %d key %s: History's newest is v%d, Get finds nothing", w, k, h[0].Version)
				x, _ := g.Value.AsInt()
				y, _ := h[0].Value.AsInt()
				require.Equal(t, [2]int64{int64(h[0].Version), y}, [2]int64{int64(g.Version), x}, "worker %d key %s: Get against History's newest", w, k)
			} else {
				require.False(t, ok, "worker %d key %s: deleted or never written, Get finds v%d", w, k, g.Version)
			}
			var got []*int64
			for i := len(h) - 1; i >= 0; i-- {
				v := h[i]
				seen[v.Version] = append(seen[v.Version], k)
				fmt.Fprintf(&dump, "%s@%d %v %v\n", k, v.Version, v.Deleted, v.Value)
				if v.Deleted {
					got = append(got, nil)
					continue
				}
				x, ok := v.Value.AsInt()
				require.True(t, ok, "%s holds %v", k, v.Value)
				got = append(got, &x)
			}
			switch {
			case sameHist(got, lo[k]):
				if !sameHist(lo[k], hi[k]) {
					require.NotEqual(t, 1, inFlightLanded, "worker %d: op %d landed for some keys, not %s", w, a.n, k)
					inFlightLanded = 0
				}
			case sameHist(got, hi[k]):
				require.NotEqual(t, 0, inFlightLanded, "worker %d: op %d landed for %s only", w, a.n, k)
				inFlightLanded = 1
			default:
				t.Fatalf("worker %d key %s: recovered %s; acknowledged %s (or %s with the op in flight)",
					w, k, fmtHist(got), fmtHist(lo[k]), fmtHist(hi[k]))
			}
			// Versions of acknowledged puts and batches are the ones returned.
			for j, v := range a.versions {
				if j%4 == 0 && fmt.Sprintf("w%d/p%d", w, (j/4)%5) == k || j%4 == 1 && strings.HasPrefix(k, fmt.Sprintf("w%d/b", w)) {
					found := slices.ContainsFunc(h, func(x kv.Versioned) bool { return uint64(x.Version) == v })
					require.True(t, found, "worker %d op %d: version %d not in %s's history", w, j, v, k)
				}
			}
		}
	}
	// The padding commits ("padded" mode): worker w's pad before its
	// operation j (j = 0, 4, 8, ...) holds PadValue(w<<32|j). Every pad
	// before an acknowledged operation is there, whole, oldest first,
	// each at a version of its own below that operation's; the pad of
	// the operation in flight may be there too; nothing else is. (In the
	// other modes the run is empty.)
	for w, a := range acks {
		key := fmt.Sprint("w", w)
		h, err := db.History("pad", key, 0, 0)
		require.NoError(t, err)
		var seeds []uint64
		for _, v := range slices.Backward(h) {
			b, ok := v.Value.AsBytes()
			require.True(t, ok && len(b) == 3000, "pad/%s@%d holds %v", key, v.Version, v.Value)
			require.True(t, kvtest.IsPadValue(b), "pad/%s@%d: not a value the writer wrote", key, v.Version)
			seed := binary.LittleEndian.Uint64(b)
			seeds = append(seeds, seed)
			if opv, ok := a.versions[int(uint32(seed))]; ok {
				require.Less(t, uint64(v.Version), opv, "pad/%s@%d: after the operation it precedes", key, v.Version)
			}
			seen[v.Version] = append(seen[v.Version], "pad/"+key)
			fmt.Fprintf(&dump, "pad/%s@%d %x\n", key, v.Version, seed)
		}
		var want []uint64
		if padded {
			for j := 0; j < a.n; j += 4 {
				want = append(want, uint64(w)<<32|uint64(j))
			}
			if a.n%4 == 0 && len(seeds) == len(want)+1 {
				want = append(want, uint64(w)<<32|uint64(a.n)) // before the operation in flight
			}
		}
		require.Equal(t, fmt.Sprintf("%x", want), fmt.Sprintf("%x", seeds), "worker %d's pads (seeds), %d operations acknowledged", w, a.n)
	}
	fmt.Fprintf(&dump, "last version %d\n", db.LastVersion())
	// Versions are unique to a commit (a batch's keys share one) and run
	// from 1 to LastVersion without a gap.
	last := db.LastVersion()
	for v := kv.Version(1); v <= last; v++ {
		keys := seen[v]
		require.NotEmpty(t, keys, "version %d missing", v)
		if len(keys) > 1 {
			require.Len(t, keys, 3, "version %d shared by %v", v, keys)
			for _, k := range keys {
				require.Contains(t, k, "/b", "version %d shared by %v", v, keys)
				require.Equal(t, keys[0][:strings.Index(keys[0], "/")], k[:strings.Index(k, "/")])
			}
		}
	}
	require.Len(t, seen, int(last), "versions above LastVersion")
	return dump.String()
}

func sameHist(a, b []*int64) bool {
	return slices.EqualFunc(a, b, func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) })
}

func fmtHist(h []*int64) string {
	var parts []string
	for _, x := range h {
		if x == nil {
			parts = append(parts, "del")
		} else {
			parts = append(parts, strconv.FormatInt(*x, 10))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}
