package faults_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/stretchr/testify/require"
)

// slowCloseFS is the OS file system without shared mappings: segments
// are written with write(2) and the active one read with pread, as on
// every OS but Linux (vfs.SharedMapper is Linux-only) or a Linux file
// system that refuses fallocate.
type slowCloseFS struct{ vfs.FS }

type slowCloseFile struct {
	vfs.File // hides MapShared: segments use write(2)
	name     string
}

func (fs slowCloseFS) OpenRW(name string) (vfs.File, error) {
	f, err := fs.FS.OpenRW(name)
	if err != nil {
		return f, err
	}
	return &slowCloseFile{File: f, name: name}, nil
}

func (f *slowCloseFile) Close() error {
	return f.File.Close()
}

func noise(seed, n int) []byte {
	b := make([]byte, n)
	x := uint64(seed)*0x9E3779B97F4A7C15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// Reads of the newest keys while the active segment is sealed (a roll)
// must not fail where segments are written with write(2): a reader that
// still holds the old Writer may pread its file just as Seal closes it,
// before the new segment table is published (found on review: the read
// failed with ErrCorrupt, "file already closed").
func TestReadDuringSealOfUnmappedSegment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := kvtest.OpenFS(slowCloseFS{vfs.Default}, dir, &kv.Options{SegmentSize: 16 << 10})
	require.NoError(t, err)
	defer db.Close()
	var last atomic.Int64
	last.Store(-1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var readErr atomic.Value
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := last.Load()
				if i < 0 {
					continue
				}
				if _, _, err := db.Get("r", fmt.Sprintf("k%05d", i)); err != nil {
					readErr.Store(err)
					return
				}
			}
		}()
	}
	for i := 0; i < 2000 && readErr.Load() == nil; i++ {
		_, err := db.Put("r", fmt.Sprintf("k%05d", i), kv.Bytes(noise(i, 500)))
		require.NoError(t, err)
		last.Store(int64(i))
	}
	close(stop)
	wg.Wait()
	if err := readErr.Load(); err != nil {
		t.Fatalf("Get of an acknowledged key failed during a roll: %v", err)
	}
}
