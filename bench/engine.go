package main

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Key and value shapes shared by every workload.
const (
	// KeyLen is the length of every key: "key:" and 12 decimal digits.
	KeyLen = 16
	// PrefixLen is the length of a scan prefix: a key without its last two
	// digits, which selects exactly 100 consecutive keys.
	PrefixLen = KeyLen - 2
	// ValueLen is the length of every value (random, incompressible bytes).
	ValueLen = 100
	// BatchLen is the number of puts per commit in batched fills.
	BatchLen = 1000
	// HistoryVersions is the number of versions per key loaded for W3, and
	// the limit of each History read.
	HistoryVersions = 10
)

// OpenOptions say how a workload wants an engine opened.
type OpenOptions struct {
	// Sync asks for durable commits: every SyncPut returns after fsync.
	Sync bool
	// Versions asks the engine to keep old versions of a key (Badger's
	// NumVersionsToKeep); engines that keep them anyway ignore it.
	Versions bool
	// KeepOne asks an engine that keeps every version (Strata) to let
	// compaction drop all but the newest, as the others do by default.
	KeepOne bool
}

// Compacter is implemented by engines that can compact their store on
// demand: Compact returns when every overwritten version the engine may
// drop is dropped and its space given back (W7).
type Compacter interface {
	Compact() error
}

// KV is one key and value of a batch.
type KV struct {
	Key, Value []byte
}

// Engine is one key-value store under test, as the workloads drive it.
// Implementations live in strata.go, badger.go, pebble.go and bbolt.go.
// Only Get, History, Scan and SyncPut are called from several goroutines
// at once.
type Engine interface {
	// Open opens (or creates) the store in dir.
	Open(dir string, o OpenOptions) error
	// Close flushes and closes the store.
	Close() error
	// Put writes one key in one commit, without fsync. An engine that
	// cannot do that cheaply may buffer puts into bigger commits (bbolt);
	// Flush then commits what is buffered.
	Put(k, v []byte) error
	// Flush commits whatever Put buffered.
	Flush() error
	// Batch writes all of kvs in one commit, without fsync. The engine may
	// keep references to the slices until it returns.
	Batch(kvs []KV) error
	// SyncPut writes one key in one commit and returns after fsync. Called
	// only on a store opened with OpenOptions.Sync.
	SyncPut(k, v []byte) error
	// Get copies the newest value of k into buf (reusing it) and returns
	// it; found is false if k is absent.
	Get(k, buf []byte) (val []byte, found bool, err error)
	// PutVersions writes, in one commit, version ver of every key in kvs,
	// for History to read back. ver grows by one per round of loading.
	PutVersions(kvs []KV, ver uint64) error
	// History reads the values of up to limit newest versions of k and
	// returns how many it read and their total bytes.
	History(k []byte, limit int) (n, bytes int, err error)
	// Scan reads up to limit keys starting with prefix, in key order, with
	// their values, and returns how many it read and their total bytes.
	Scan(prefix []byte, limit int) (n, bytes int, err error)
}

// Visiter is implemented by engines with a second way to read a history
// and a scan, handing each value to a function instead of returning
// copies the caller keeps (Strata's HistoryFunc and ScanFunc): W3b and
// W4b. The peers' W3 and W4 already copy into buffers they reuse.
type Visiter interface {
	// HistoryVisit is History through the engine's visiting call.
	HistoryVisit(k []byte, limit int) (n, bytes int, err error)
	// ScanVisit is Scan through the engine's visiting call.
	ScanVisit(prefix []byte, limit int) (n, bytes int, err error)
}

// ExtraStatser is implemented by engines that expose counters of their
// own (Strata's kv.Stats). ExtraStats returns the counters present, by
// name.
type ExtraStatser interface {
	ExtraStats() map[string]int64
}

// engineNames lists the engines in table order.
var engineNames = []string{"strata", "badger", "pebble", "bbolt"}

// engineTitles are the table's column headings.
var engineTitles = map[string]string{
	"strata": "Strata",
	"badger": "Badger v4",
	"pebble": "Pebble v2",
	"bbolt":  "bbolt",
}

// newEngine returns an unopened engine by name.
func newEngine(name string) (Engine, error) {
	switch name {
	case "strata":
		return &strataEngine{}, nil
	case "badger":
		return &badgerEngine{}, nil
	case "pebble":
		return &pebbleEngine{}, nil
	case "bbolt":
		return &bboltEngine{}, nil
	}
	return nil, fmt.Errorf("unknown engine %q (want one of %s)", name, strings.Join(engineNames, ", "))
}

// parseEngines turns a comma list into engine names in table order.
func parseEngines(list string) ([]string, error) {
	seen := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		if _, err := newEngine(n); err != nil {
			return nil, err
		}
		seen[n] = true
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("no engine named in %q", list)
	}
	var out []string
	for _, n := range engineNames {
		if seen[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// putKey writes key number i ("key:" and 12 digits) into dst[:KeyLen].
func putKey(dst []byte, i int) {
	copy(dst, "key:")
	for j := KeyLen - 1; j >= 4; j-- {
		dst[j] = byte('0' + i%10)
		i /= 10
	}
}

// versionedKey returns k followed by the big-endian complement of ver, so
// that a forward scan of the prefix k meets the newest version first. It
// is how the peers without native versions store history.
func versionedKey(k []byte, ver uint64) []byte {
	out := make([]byte, len(k)+8)
	copy(out, k)
	binary.BigEndian.PutUint64(out[len(k):], ^ver)
	return out
}

// prefixEnd returns the smallest key greater than every key with the
// prefix p (nil if there is none).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
