package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"
)

// PebbleCacheBytes is the block cache Pebble is given (its default is 8 MiB).
const PebbleCacheBytes = 256 << 20

// pebbleEngine drives Pebble v2 with a 256 MiB block cache, defaults
// otherwise. History is emulated with versioned keys (see versionedKey).
type pebbleEngine struct {
	db *pebble.DB
}

// quietLogger drops Pebble's informational messages and keeps errors.
type quietLogger struct{}

// Infof drops the message.
func (quietLogger) Infof(string, ...any) {}

// Errorf prints the message to stderr.
func (quietLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}

// Fatalf prints the message to stderr and exits.
func (quietLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
	os.Exit(2)
}

// Open opens the store in dir; see Engine.Open.
func (e *pebbleEngine) Open(dir string, o OpenOptions) error {
	cache := pebble.NewCache(PebbleCacheBytes)
	defer cache.Unref() // the DB holds its own reference
	db, err := pebble.Open(dir, &pebble.Options{Cache: cache, Logger: quietLogger{}})
	if err != nil {
		return err
	}
	e.db = db
	return nil
}

// Close closes the store; see Engine.Close.
func (e *pebbleEngine) Close() error { return e.db.Close() }

// Compact compacts the whole key space; see Compacter.
func (e *pebbleEngine) Compact() error {
	return e.db.Compact(context.Background(), []byte{0}, bytes.Repeat([]byte{0xff}, KeyLen+1), true)
}

// Put writes one key in one commit without fsync; see Engine.Put.
func (e *pebbleEngine) Put(k, v []byte) error { return e.db.Set(k, v, pebble.NoSync) }

// Flush does nothing: Put commits at once.
func (e *pebbleEngine) Flush() error { return nil }

// Batch writes kvs in one commit without fsync; see Engine.Batch.
func (e *pebbleEngine) Batch(kvs []KV) error {
	b := e.db.NewBatch()
	defer b.Close()
	for _, p := range kvs {
		if err := b.Set(p.Key, p.Value, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.NoSync)
}

// SyncPut writes one key and returns after fsync; see Engine.SyncPut.
func (e *pebbleEngine) SyncPut(k, v []byte) error { return e.db.Set(k, v, pebble.Sync) }

// Get copies the newest value of k out; see Engine.Get.
func (e *pebbleEngine) Get(k, buf []byte) ([]byte, bool, error) {
	v, closer, err := e.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	buf = append(buf[:0], v...)
	return buf, true, closer.Close()
}

// PutVersions writes version ver of every key in kvs in one commit; see Engine.PutVersions.
func (e *pebbleEngine) PutVersions(kvs []KV, ver uint64) error {
	b := e.db.NewBatch()
	defer b.Close()
	for _, p := range kvs {
		if err := b.Set(versionedKey(p.Key, ver), p.Value, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.NoSync)
}

// History scans the keys k||^version forward: newest version first.
func (e *pebbleEngine) History(k []byte, limit int) (int, int, error) {
	return e.scan(k, limit, false)
}

// Scan reads up to limit keys under prefix with their values; see Engine.Scan.
func (e *pebbleEngine) Scan(prefix []byte, limit int) (int, int, error) {
	return e.scan(prefix, limit, true)
}

// scan reads up to limit entries under prefix, copying values (and keys
// if withKeys).
func (e *pebbleEngine) scan(prefix []byte, limit int, withKeys bool) (n, bytes int, err error) {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, 0, err
	}
	var kbuf, vbuf []byte
	for ok := it.First(); ok && n < limit; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return n, bytes, err
		}
		vbuf = append(vbuf[:0], v...)
		if withKeys {
			kbuf = append(kbuf[:0], it.Key()...)
		}
		n++
		bytes += len(kbuf) + len(vbuf)
	}
	return n, bytes, it.Close()
}
