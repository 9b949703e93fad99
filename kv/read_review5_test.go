package kv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// valOf is the value of key i, version v: alternately random-ish bytes
// (stored raw), compressible strings (stored S2), and objects.
func valOf(i, v int) Value {
	switch i % 3 {
	case 0:
		b := make([]byte, 10+i%50)
		for j := range b {
			b[j] = byte(i*31 + v*7 + j*13)
		}
		return Bytes(b)
	case 1:
		return String(strings.Repeat(fmt.Sprintf("s%d.%d|", i, v), 20+i%5))
	default:
		return Object(map[string]Value{"a": Bytes([]byte(fmt.Sprint(i, v))), "b": String(fmt.Sprint(v, i))})
	}
}

func snapshotPage(p Page) []string {
	out := make([]string, len(p.Entries))
	for i, e := range p.Entries {
		out[i] = e.Key + "=" + e.Value.String()
	}
	return out
}

// Pages and histories of more than 16 values: their keys and values do
// not change after later calls (pooled slices, arenas), and an append to
// a returned Bytes value does not overwrite a neighbour.
func TestScanHistoryNoAliasingReview5(t *testing.T) {
	for name, opts := range modes {
		t.Run(name, func(t *testing.T) {
			o := opts
			db := openT(t, &o)
			const keys, versions = 150, 40
			for v := range versions {
				if v > 2 && v != versions-1 {
					continue
				}
				for i := range keys {
					mustPut(t, db, "r", fmt.Sprintf("k%04d", i), valOf(i, v))
				}
			}
			// One key with many versions for History.
			for v := range versions {
				mustPut(t, db, "r", "h", valOf(v, v))
			}
			p1, err := db.Scan("r", "k", 100, "")
			require.NoError(t, err)
			require.Len(t, p1.Entries, 100)
			want1 := snapshotPage(p1)
			h1, err := db.History("r", "h", 0, 0)
			require.NoError(t, err)
			require.Len(t, h1, versions)
			wantH := make([]string, len(h1))
			for i, x := range h1 {
				wantH[i] = x.Value.String()
				require.True(t, x.Value.Equal(valOf(versions-1-i, versions-1-i)), "history %d", i)
			}
			for i, e := range p1.Entries {
				require.True(t, e.Value.Equal(valOf(i, versions-1)), "entry %d", i)
			}

			// Appends to every Bytes value.
			for _, e := range p1.Entries {
				if b, ok := e.Value.AsBytes(); ok {
					require.Equal(t, len(b), cap(b), "a Bytes value's capacity reaches past it")
					_ = append(b, bytes.Repeat([]byte{0xEE}, 64)...)
				}
			}
			for _, x := range h1 {
				if b, ok := x.Value.AsBytes(); ok {
					_ = append(b, bytes.Repeat([]byte{0xEE}, 64)...)
				}
			}

			// Many later calls, concurrently, with writes in between.
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := range 30 {
						p, err := db.Scan("r", "k", 100+n, "")
						if err != nil {
							t.Error(err)
							return
						}
						if _, err := db.Scan("r", "k", 17, p.Cursor); err != nil {
							t.Error(err)
							return
						}
						if _, err := db.History("r", "h", 20+g, 0); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			for i := range 30 {
				mustPut(t, db, "r", fmt.Sprintf("k%04d", i), valOf(i+1, 99))
			}
			wg.Wait()

			require.Equal(t, want1, snapshotPage(p1))
			for i, x := range h1 {
				require.Equal(t, wantH[i], x.Value.String(), "history %d", i)
			}
		})
	}
}

// A transaction's scan with its own writes among more than 16 keys.
func TestTxnScanOwnWritesReview5(t *testing.T) {
	db := openT(t, nil)
	for i := range 60 {
		mustPut(t, db, "r", fmt.Sprintf("k%04d", i), valOf(i, 0))
	}
	err := db.View(func(tx *Txn) error { return nil })
	require.NoError(t, err)
	_, err = db.Update(func(tx *Txn) error {
		for i := 0; i < 60; i += 7 {
			if err := tx.Put("r", fmt.Sprintf("k%04d", i), String("own")); err != nil {
				return err
			}
		}
		p, err := tx.Scan("r", "k", 0, "")
		if err != nil {
			return err
		}
		require.Len(t, p.Entries, 60)
		for i, e := range p.Entries {
			if i%7 == 0 {
				require.True(t, e.Value.Equal(String("own")), "entry %d: %v", i, e.Value)
			} else {
				require.True(t, e.Value.Equal(valOf(i, 0)), "entry %d", i)
			}
		}
		return nil
	})
	require.NoError(t, err)
}

// heapInuse returns the live heap after a collection.
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// Keeping one value of a scan page must not keep every value of the page:
// each large value had its own arena chunk before the change; now the page's
// values share one chunk sized for all of them.
func TestScanOneValueRetainsPageReview5(t *testing.T) {
	db := openT(t, nil)
	const n, size = 64, 256 << 10
	for i := range n {
		b := make([]byte, size)
		rng := rand.New(rand.NewPCG(uint64(i), 1))
		for j := range b {
			b[j] = byte(rng.Uint32()) // incompressible: stored raw
		}
		mustPut(t, db, "r", fmt.Sprintf("k%04d", i), Bytes(b))
	}
	base := heapInuse()
	p, err := db.Scan("r", "k", n, "")
	require.NoError(t, err)
	require.Len(t, p.Entries, n)
	kept := p.Entries[7].Value
	p = Page{}
	retained := int64(heapInuse()) - int64(base)
	b, ok := kept.AsBytes()
	require.True(t, ok)
	require.Len(t, b, size)
	t.Logf("one %d-byte value keeps %d bytes of heap", size, retained)
	require.Less(t, retained, int64(4*size), "one value of a page keeps the whole page's values alive")
	runtime.KeepAlive(kept)
}
