package main

import (
	"errors"
	"math"

	badger "github.com/dgraph-io/badger/v4"
)

// badgerEngine drives Badger v4 with its default options (logger off).
type badgerEngine struct {
	db *badger.DB
}

// Open opens the store in dir; see Engine.Open.
func (e *badgerEngine) Open(dir string, o OpenOptions) error {
	opts := badger.DefaultOptions(dir).WithLogger(nil)
	if o.Sync {
		opts = opts.WithSyncWrites(true)
	}
	if o.Versions {
		// The default, 1, lets compaction drop all but the newest version.
		opts = opts.WithNumVersionsToKeep(math.MaxInt32)
	}
	db, err := badger.Open(opts)
	if err != nil {
		return err
	}
	e.db = db
	return nil
}

// Close closes the store; see Engine.Close.
func (e *badgerEngine) Close() error { return e.db.Close() }

// Compact flattens the LSM tree into one level and collects the value
// log until nothing more is rewritten; see Compacter.
func (e *badgerEngine) Compact() error {
	if err := e.db.Flatten(2); err != nil {
		return err
	}
	for {
		err := e.db.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Put writes one key in one commit without fsync; see Engine.Put.
func (e *badgerEngine) Put(k, v []byte) error {
	return e.db.Update(func(txn *badger.Txn) error { return txn.Set(k, v) })
}

// Flush does nothing: Put commits at once.
func (e *badgerEngine) Flush() error { return nil }

// Batch writes kvs in one commit without fsync; see Engine.Batch.
func (e *badgerEngine) Batch(kvs []KV) error {
	return e.db.Update(func(txn *badger.Txn) error {
		for _, p := range kvs {
			if err := txn.Set(p.Key, p.Value); err != nil {
				return err
			}
		}
		return nil
	})
}

// SyncPut is Put on a store opened with SyncWrites.
func (e *badgerEngine) SyncPut(k, v []byte) error { return e.Put(k, v) }

// Get copies the newest value of k out; see Engine.Get.
func (e *badgerEngine) Get(k, buf []byte) ([]byte, bool, error) {
	var out []byte
	err := e.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(buf[:0])
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	return out, err == nil, err
}

// PutVersions ignores ver: every Update is a new Badger version.
func (e *badgerEngine) PutVersions(kvs []KV, ver uint64) error { return e.Batch(kvs) }

// History iterates every version of k (NewKeyIterator, AllVersions), newest
// first.
func (e *badgerEngine) History(k []byte, limit int) (n, bytes int, err error) {
	err = e.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.AllVersions = true
		opts.PrefetchValues = false
		it := txn.NewKeyIterator(k, opts)
		defer it.Close()
		var buf []byte
		for it.Rewind(); it.Valid() && n < limit; it.Next() {
			item := it.Item()
			if item.IsDeletedOrExpired() {
				continue
			}
			var err error
			if buf, err = item.ValueCopy(buf[:0]); err != nil {
				return err
			}
			n++
			bytes += len(buf)
		}
		return nil
	})
	return n, bytes, err
}

// Scan reads up to limit keys under prefix with their values; see Engine.Scan.
func (e *badgerEngine) Scan(prefix []byte, limit int) (n, bytes int, err error) {
	err = e.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		var kbuf, vbuf []byte
		for it.Rewind(); it.Valid() && n < limit; it.Next() {
			item := it.Item()
			kbuf = item.KeyCopy(kbuf[:0])
			var err error
			if vbuf, err = item.ValueCopy(vbuf[:0]); err != nil {
				return err
			}
			n++
			bytes += len(kbuf) + len(vbuf)
		}
		return nil
	})
	return n, bytes, err
}
