package main

import (
	"bytes"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// bboltBucket is the one bucket every workload uses.
var bboltBucket = []byte("kv")

// bboltEngine drives bbolt with its default options (so every read-write
// transaction fsyncs). Put buffers BatchLen puts per transaction, and
// History is emulated with versioned keys (see versionedKey).
type bboltEngine struct {
	db      *bolt.DB
	pending []KV
}

// Open opens the store in dir; see Engine.Open.
func (e *bboltEngine) Open(dir string, o OpenOptions) error {
	db, err := bolt.Open(filepath.Join(dir, "bolt.db"), 0o600, nil)
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bboltBucket)
		return err
	})
	if err != nil {
		db.Close()
		return err
	}
	e.db = db
	return nil
}

// Close closes the store; see Engine.Close.
func (e *bboltEngine) Close() error {
	if err := e.Flush(); err != nil {
		e.db.Close()
		return err
	}
	return e.db.Close()
}

// Put buffers the put (a transaction per put would fsync each) and
// commits every BatchLen puts as one transaction.
func (e *bboltEngine) Put(k, v []byte) error {
	e.pending = append(e.pending, KV{append([]byte(nil), k...), append([]byte(nil), v...)})
	if len(e.pending) >= BatchLen {
		return e.Flush()
	}
	return nil
}

// Flush does nothing: Put commits at once.
func (e *bboltEngine) Flush() error {
	if len(e.pending) == 0 {
		return nil
	}
	err := e.Batch(e.pending)
	e.pending = e.pending[:0]
	return err
}

// Batch writes kvs in one commit without fsync; see Engine.Batch.
func (e *bboltEngine) Batch(kvs []KV) error {
	return e.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bboltBucket)
		for _, p := range kvs {
			if err := b.Put(p.Key, p.Value); err != nil {
				return err
			}
		}
		return nil
	})
}

// SyncPut is one Update, which fsyncs.
func (e *bboltEngine) SyncPut(k, v []byte) error {
	return e.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bboltBucket).Put(k, v) })
}

// Get runs one read-only transaction and copies the value out of it.
func (e *bboltEngine) Get(k, buf []byte) (out []byte, found bool, err error) {
	err = e.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bboltBucket).Get(k); v != nil {
			out, found = append(buf[:0], v...), true
		}
		return nil
	})
	return out, found, err
}

// PutVersions writes version ver of every key in kvs in one commit; see Engine.PutVersions.
func (e *bboltEngine) PutVersions(kvs []KV, ver uint64) error {
	vkvs := make([]KV, len(kvs))
	for i, p := range kvs {
		vkvs[i] = KV{versionedKey(p.Key, ver), p.Value}
	}
	return e.Batch(vkvs)
}

// History scans the keys k||^version forward: newest version first.
func (e *bboltEngine) History(k []byte, limit int) (int, int, error) {
	return e.scan(k, limit, false)
}

// Scan reads up to limit keys under prefix with their values; see Engine.Scan.
func (e *bboltEngine) Scan(prefix []byte, limit int) (int, int, error) {
	return e.scan(prefix, limit, true)
}

// scan reads up to limit entries under prefix in one read-only
// transaction, copying values (and keys if withKeys).
func (e *bboltEngine) scan(prefix []byte, limit int, withKeys bool) (n, total int, err error) {
	err = e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bboltBucket).Cursor()
		var kbuf, vbuf []byte
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && n < limit; k, v = c.Next() {
			vbuf = append(vbuf[:0], v...)
			if withKeys {
				kbuf = append(kbuf[:0], k...)
			}
			n++
			total += len(kbuf) + len(vbuf)
		}
		return nil
	})
	return n, total, err
}
