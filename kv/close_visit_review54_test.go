package kv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Values of every kind, keys, pages and cursors returned before Close
// stay valid after it (the segments they came from are unmapped), on
// writable, read-only and in-memory databases; a cursor used after Close
// gets ErrClosed.
func TestReview54ValuesOutliveCloseAllModes(t *testing.T) {
	payload := make([]byte, 300)
	for i := range payload {
		payload[i] = byte(i*131 + i*i*7 + 3)
	}
	str := fmt.Sprintf("%x", payload)
	for _, m := range review54Modes {
		t.Run(m.name, func(t *testing.T) {
			opts := m.opts
			opts.Retention = Retention{}
			opts.SegmentSize = 8 << 10
			dir := ""
			if opts.Durability != InMemory {
				dir = t.TempDir()
			}
			w := opts
			w.ReadOnly = false
			db, err := Open(dir, &w)
			require.NoError(t, err)
			for i := 0; i < 60; i++ {
				_, err := db.MPut(DefaultRun, []KeyValue{
					{fmt.Sprintf("b%03d", i), Bytes(payload)},
					{fmt.Sprintf("s%03d", i), String(str)},
					{fmt.Sprintf("a%03d", i), Array(Bytes(payload), String(str))},
					{fmt.Sprintf("o%03d", i), Object(map[string]Value{"x": Bytes(payload), "y": String(str)})},
				})
				require.NoError(t, err)
			}
			if opts.ReadOnly {
				require.NoError(t, db.Close())
				db, err = Open(dir, &opts)
				require.NoError(t, err)
			}
			require.Greater(t, db.Stats().Segments, 2)
			got, ok, err := db.Get(DefaultRun, "o000")
			require.NoError(t, err)
			require.True(t, ok)
			hist, err := db.History(DefaultRun, "a000", 0, 0)
			require.NoError(t, err)
			page, err := db.Scan(DefaultRun, "", 7, "")
			require.NoError(t, err)
			rpage, err := db.Range(DefaultRun, RangeOptions{Start: "b", Reverse: true, Limit: 9})
			require.NoError(t, err)
			changes, err := db.Changes(DefaultRun, "", 0, 50)
			require.NoError(t, err)
			keys, err := db.Keys(DefaultRun, "s", 0)
			require.NoError(t, err)
			mg, err := db.MGet(DefaultRun, []string{"b001", "s001"})
			require.NoError(t, err)
			var visitKeys []string
			var visitVals []Value
			require.NoError(t, db.ScanFunc(DefaultRun, "a", "", 5, func(k []byte, v Versioned) bool {
				visitKeys = append(visitKeys, string(k))
				visitVals = append(visitVals, v.Value) // arrays are fn's own
				return true
			}))

			require.NoError(t, db.Close())
			runtime.GC()

			var check func(v Value)
			check = func(v Value) {
				switch v.Kind() {
				case KindBytes:
					b, _ := v.AsBytes()
					require.True(t, bytes.Equal(payload, b))
				case KindString:
					s, _ := v.AsString()
					require.Equal(t, str, s)
				case KindArray:
					items, _ := v.AsArray()
					require.Len(t, items, 2)
					check(items[0])
					check(items[1])
				case KindObject:
					f, _ := v.AsObject()
					check(f["x"])
					check(f["y"])
				default:
					t.Fatalf("unexpected kind %v", v.Kind())
				}
			}
			check(got.Value)
			for _, h := range hist {
				check(h.Value)
			}
			for _, e := range append(page.Entries, rpage.Entries...) {
				require.NotEmpty(t, e.Key)
				check(e.Value)
			}
			for _, c := range changes {
				check(c.Value)
				require.NotEmpty(t, c.Key)
			}
			require.Len(t, keys, 60)
			require.Equal(t, "s059", keys[59])
			for _, v := range mg {
				check(v.Value)
			}
			require.Equal(t, []string{"a000", "a001", "a002", "a003", "a004"}, visitKeys)
			for _, v := range visitVals {
				check(v)
			}
			_, err = db.Scan(DefaultRun, "", 7, page.Cursor)
			require.ErrorIs(t, err, ErrClosed)
			_, err = db.Range(DefaultRun, RangeOptions{Start: "b", Reverse: true, Limit: 9, Cursor: rpage.Cursor})
			require.ErrorIs(t, err, ErrClosed)
		})
	}
}

// Close from another goroutine while HistoryFunc's fn runs: the bytes fn
// holds stay valid until it returns, and HistoryFunc returns ErrClosed
// when it had more to read.
func TestReview54CloseWhileHistoryFuncFnRuns(t *testing.T) {
	for _, m := range review54Modes[:3] {
		t.Run(m.name, func(t *testing.T) {
			opts := m.opts
			opts.Retention = Retention{}
			dir := ""
			if opts.Durability != InMemory {
				dir = t.TempDir()
			}
			db, err := Open(dir, &opts)
			require.NoError(t, err)
			for i := 0; i < 300; i++ {
				mustPut(t, db, DefaultRun, "h", Bytes(review54Noise(i)))
			}
			calls := 0
			err = db.HistoryFunc(DefaultRun, "h", 0, 0, func(v Versioned) bool {
				calls++
				if calls == 3 {
					done := make(chan error)
					go func() { done <- db.Close() }()
					require.NoError(t, <-done) // Close finished, segments unmapped
					runtime.GC()
				}
				b, _ := v.Value.AsBytes()
				require.Equal(t, review54Noise(300-calls), b)
				return true
			})
			require.ErrorIs(t, err, ErrClosed)
			require.Equal(t, visitBatch, calls)
		})
	}
}

// A change feed (Changes + WaitFor) running while Close runs ends with
// ErrClosed, never a panic or a hang; two concurrent Closes both return
// once the directory is released.
func TestReview54ChangeFeedAndDoubleClose(t *testing.T) {
	for round := 0; round < 20; round++ {
		dir := t.TempDir()
		db, err := Open(dir, &Options{SegmentSize: 4 << 10})
		require.NoError(t, err)
		var wg sync.WaitGroup
		feedErr := make(chan error, 2)
		for f := 0; f < 2; f++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				after := Version(0)
				for {
					cs, err := db.Changes(DefaultRun, "", after, 10)
					if err != nil {
						feedErr <- err
						return
					}
					if len(cs) > 0 {
						after = cs[len(cs)-1].Version
						continue
					}
					if err := db.WaitFor(context.Background(), after+1); err != nil {
						feedErr <- err
						return
					}
				}
			}()
		}
		for i := 0; i < 50+round*10; i++ {
			mustPut(t, db, DefaultRun, fmt.Sprintf("k%d", i%7), Int(int64(i)))
		}
		closeErrs := make(chan error, 2)
		for c := 0; c < 2; c++ {
			go func() {
				err := db.Close()
				if err == nil {
					// Whichever returns, the directory is released.
					db2, err2 := Open(dir, &Options{ReadOnly: true})
					if err2 == nil {
						db2.Close()
					}
					err = err2
				}
				closeErrs <- err
			}()
		}
		require.NoError(t, <-closeErrs)
		require.NoError(t, <-closeErrs)
		wg.Wait()
		require.ErrorIs(t, <-feedErr, ErrClosed)
		require.ErrorIs(t, <-feedErr, ErrClosed)
	}
}

// Close while Checkpoints and a Compact run: each returns a checkpoint
// that opens, or ErrClosed.
func TestReview54CloseDuringCheckpointAndCompact(t *testing.T) {
	for round := 0; round < 5; round++ {
		dir := t.TempDir()
		db, err := Open(dir, &Options{SegmentSize: 4 << 10, Retention: Retention{KeepVersions: 1}, CompactAt: 0.1})
		require.NoError(t, err)
		for i := 0; i < 400; i++ {
			mustPut(t, db, DefaultRun, fmt.Sprintf("k%d", i%20), String(strings.Repeat("x", 100)))
		}
		ck := t.TempDir()
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		started := make(chan struct{}, 4)
		for g := 0; g < 3; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				started <- struct{}{}
				for i := 0; ; i++ {
					p := filepath.Join(ck, fmt.Sprintf("c%d-%d", g, i))
					v, err := db.Checkpoint(p)
					if err != nil {
						errs <- err
						return
					}
					c, err := Open(p, &Options{ReadOnly: true})
					if err != nil {
						errs <- fmt.Errorf("checkpoint at %d does not open: %w", v, err)
						return
					}
					if c.LastVersion() != v {
						errs <- fmt.Errorf("checkpoint at %d opens at %d", v, c.LastVersion())
					}
					c.Close()
				}
			}(g)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			for {
				if _, err := db.Compact(context.Background()); err != nil {
					errs <- err
					return
				}
				if _, err := db.Put(DefaultRun, "z", Int(1)); err != nil {
					errs <- err
					return
				}
			}
		}()
		for i := 0; i < 4; i++ {
			<-started
		}
		require.NoError(t, db.Close())
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, ErrClosed) {
				t.Fatal(err)
			}
		}
	}
}

// review54Noise returns 500 bytes that do not compress, a function of i.
func review54Noise(i int) []byte {
	b := make([]byte, 500)
	x := uint64(i)*0x9e3779b97f4a7c15 + 1
	for j := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[j] = byte(x)
	}
	return b
}
