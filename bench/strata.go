package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/strata-kv/strata/kv"
)

// strataEngine drives Strata through its public API, package kv.
type strataEngine struct {
	db *kv.DB
}

// Open opens the store in dir; see Engine.Open.
func (e *strataEngine) Open(dir string, o OpenOptions) error {
	opts := &kv.Options{Durability: kv.Buffered, Logger: slog.New(slog.DiscardHandler)}
	if o.Sync {
		opts.Durability = kv.Strict
	}
	if o.KeepOne {
		opts.Retention = kv.Retention{KeepVersions: 1}
	}
	db, err := kv.Open(dir, opts)
	if err != nil {
		return err
	}
	e.db = db
	return nil
}

// Close closes the store; see Engine.Close.
func (e *strataEngine) Close() error { return e.db.Close() }

// Compact drops what Retention lets go; see Compacter.
func (e *strataEngine) Compact() error {
	_, err := e.db.Compact(context.Background())
	return err
}

// Put writes one key in one commit without fsync; see Engine.Put.
func (e *strataEngine) Put(k, v []byte) error {
	_, err := e.db.Put(kv.DefaultRun, string(k), kv.Bytes(v))
	return err
}

// Flush does nothing: Put commits at once.
func (e *strataEngine) Flush() error { return nil }

// Batch writes kvs in one commit without fsync; see Engine.Batch.
func (e *strataEngine) Batch(kvs []KV) error {
	entries := make([]kv.KeyValue, len(kvs))
	for i, p := range kvs {
		entries[i] = kv.KeyValue{Key: string(p.Key), Value: kv.Bytes(p.Value)}
	}
	_, err := e.db.MPut(kv.DefaultRun, entries)
	return err
}

// SyncPut writes one key and returns after fsync; see Engine.SyncPut.
func (e *strataEngine) SyncPut(k, v []byte) error { return e.Put(k, v) }

// Get returns the decoded value Strata hands back: it is already the
// caller's own copy, so buf is not used.
func (e *strataEngine) Get(k, buf []byte) ([]byte, bool, error) {
	ver, ok, err := e.db.Get(kv.DefaultRun, string(k))
	if err != nil || !ok {
		return nil, ok, err
	}
	b, isBytes := ver.Value.AsBytes()
	if !isBytes {
		return nil, false, fmt.Errorf("strata: %s holds a %s, not bytes", k, ver.Value.Kind())
	}
	return b, true, nil
}

// PutVersions ignores ver: every MPut is a new Strata version.
func (e *strataEngine) PutVersions(kvs []KV, ver uint64) error { return e.Batch(kvs) }

// History reads up to limit newest versions of k; see Engine.History.
func (e *strataEngine) History(k []byte, limit int) (int, int, error) {
	hs, err := e.db.History(kv.DefaultRun, string(k), limit, 0)
	if err != nil {
		return 0, 0, err
	}
	bytes := 0
	for _, h := range hs {
		b, _ := h.Value.AsBytes()
		bytes += len(b)
	}
	return len(hs), bytes, nil
}

// Scan reads up to limit keys under prefix with their values; see Engine.Scan.
func (e *strataEngine) Scan(prefix []byte, limit int) (int, int, error) {
	page, err := e.db.Scan(kv.DefaultRun, string(prefix), limit, "")
	if err != nil {
		return 0, 0, err
	}
	bytes := 0
	for _, en := range page.Entries {
		b, _ := en.Value.AsBytes()
		bytes += len(en.Key) + len(b)
	}
	return len(page.Entries), bytes, nil
}

// HistoryVisit reads up to limit newest versions of k with HistoryFunc;
// see Visiter.
func (e *strataEngine) HistoryVisit(k []byte, limit int) (int, int, error) {
	n, bytes := 0, 0
	err := e.db.HistoryFunc(kv.DefaultRun, string(k), limit, 0, func(v kv.Versioned) bool {
		b, _ := v.Value.AsBytes()
		n, bytes = n+1, bytes+len(b)
		return true
	})
	return n, bytes, err
}

// ScanVisit reads up to limit keys under prefix with ScanFunc; see
// Visiter.
func (e *strataEngine) ScanVisit(prefix []byte, limit int) (int, int, error) {
	n, bytes := 0, 0
	err := e.db.ScanFunc(kv.DefaultRun, string(prefix), "", limit, func(key []byte, v kv.Versioned) bool {
		b, _ := v.Value.AsBytes()
		n, bytes = n+1, bytes+len(key)+len(b)
		return true
	})
	return n, bytes, err
}

// ExtraStats returns the kv.Stats counters the notes report: IndexBytes
// (after W1) and Commits, Groups and Fsyncs (after W5).
func (e *strataEngine) ExtraStats() map[string]int64 {
	s := e.db.Stats()
	return map[string]int64{
		"IndexBytes": s.IndexBytes,
		"Commits":    s.Commits,
		"Groups":     s.Groups,
		"Fsyncs":     s.Fsyncs,
	}
}
