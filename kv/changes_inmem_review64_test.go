package kv

import (
	"fmt"
	"runtime"
	"testing"
)

// API.md: Changes "costs O(changes returned + segments), never O(keys)";
// Diff costs O(versions committed to the run in (from, to]). Here each
// call returns one change (of the newest commit) in a store that holds n
// keys of another run, all in the active segment. The bytes each call
// allocates are measured (deterministic): on disk (Linux, where the
// active segment is mapped) they stay small; InMemory, where the segment
// writer has no mapping (the memory file system is no
// vfs.SharedMapper), segment.Writer.Frames copies the whole active
// segment on every call: O(bytes of every key written), up to
// SegmentSize (64 MiB by default) a call. The same holds for a disk
// database wherever MapShared is missing or fails (every OS but Linux).
func TestReview64ChangesCopiesActiveSegment(t *testing.T) {
	n := 50000
	if raceEnabled {
		n = 10000
	}
	for _, mode := range []Durability{Buffered, InMemory} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			if mode == InMemory {
				dir = ""
			}
			db := open64(t, dir, &Options{Durability: mode, CompactAt: -1, SyncInterval: 1 << 40})
			defer db.Close()
			fill64(t, db, "bulk", n)
			M := m64{t}
			M.v(db.Put("a", "k", Int(1)))
			last := M.v(db.Put("a", "k", Int(2)))
			per := func(f func() error) uint64 {
				if err := f(); err != nil { // warm: marks the segment's frames
					t.Fatal(err)
				}
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				for i := 0; i < 10; i++ {
					if err := f(); err != nil {
						t.Fatal(err)
					}
				}
				runtime.ReadMemStats(&m1)
				return (m1.TotalAlloc - m0.TotalAlloc) / 10
			}
			ch := per(func() error {
				cs, err := db.Changes("a", "", last-1, 0)
				if err == nil && len(cs) != 1 {
					err = fmt.Errorf("Changes = %v", cs)
				}
				return err
			})
			df := per(func() error {
				d, err := db.Diff("a", last-1, last)
				if err == nil && len(d) != 1 {
					err = fmt.Errorf("Diff = %v", d)
				}
				return err
			})
			st := db.Stats()
			t.Logf("%s, %d keys, %d live bytes: Changes allocates %d bytes a call, Diff %d", mode, n, st.LiveBytes, ch, df)
			if ch > 256<<10 || df > 256<<10 {
				t.Errorf("%s: a Changes (one change returned) allocates %d bytes, a Diff over one version %d, in a store of %d keys (%d live bytes): O(the active segment's bytes) a call", mode, ch, df, n, st.LiveBytes)
			}
		})
	}
}
