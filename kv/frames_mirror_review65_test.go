package kv

import (
	"fmt"
	"sync"
	"testing"
)

// Review 65. eff0f4d: an InMemory database's active segment has no
// mapping, so segment.Writer.Frames keeps a copy (mirror) and extends it
// while commits are flushed. Changes and Diff read it from other
// goroutines; with -race this checks that no byte they read is written
// meanwhile, and that what one call returned is not changed by later
// writes and reads (each value is checked again at the end).
func TestReview65InMemoryChangesBesideWriter(t *testing.T) {
	db, err := Open("", &Options{Durability: InMemory, CompactAt: -1, SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 3000
	val := func(i int) string { return fmt.Sprintf("value-%05d-%s", i, "xxxxxxxxxxxxxxxxxxxxxxxx") }
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range n {
			if _, err := db.Put("r", fmt.Sprintf("k%05d", i), String(val(i))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	type kept struct {
		key  string
		v    Value
		want string
	}
	var all []kept
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []kept
			after := Version(0)
			for {
				select {
				case <-done:
				default:
				}
				cs, err := db.Changes("r", "", after, 50)
				if err != nil {
					t.Error(err)
					return
				}
				for _, c := range cs {
					var i int
					fmt.Sscanf(c.Key, "k%05d", &i)
					mine = append(mine, kept{c.Key, c.Value, fmt.Sprintf("%q", val(i))})
					after = c.Version
				}
				if len(cs) == 0 {
					select {
					case <-done:
						if after >= Version(db.LastVersion()) {
							review65Mu.Lock()
							all = append(all, mine...)
							review65Mu.Unlock()
							return
						}
					default:
					}
				}
				if _, err := db.Diff("r", Version(max(0, int(after)-5)), after); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(all) != 2*n {
		t.Fatalf("got %d changes, want %d", len(all), 2*n)
	}
	for _, k := range all {
		if got := k.v.String(); got != k.want {
			t.Fatalf("%s: value read earlier now %s, want %s", k.key, got, k.want)
		}
	}
}

var review65Mu sync.Mutex
