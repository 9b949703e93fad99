package fuzz

import (
	"testing"
	"time"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
)

// FuzzOps interprets the input as operations (kvtest.DecodeOps: two bytes
// each) on a database on the in-memory FS, run by kvtest's Runner, which
// checks every answer, and after each reopen or crash every version,
// against kvtest's model. The first byte picks the options: bit 0 the
// durability (clear Strict, set Buffered with no background sync, so a
// Sync is an operation), bits 1-2 Retention.KeepVersions (0: keep all)
// for the Compact operations. After a power loss the database must hold
// exactly the model's first L versions, for an L no lower than the last
// version a Sync, a Close (or, in Strict, the commit itself) made
// durable.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 2, 1, 1, 7, 0, 4, 3, 4, 3, 8, 1, 9, 0})
	f.Add([]byte{0, 2, 5, 6, 1, 5, 0, 5, 9, 3, 2, 8, 2, 9, 1, 6, 6, 7, 7})
	f.Add([]byte{0, 4, 0, 4, 0, 4, 0, 8, 0, 4, 0, 1, 0, 4, 0, 9, 9})
	f.Add([]byte{1, 0, 1, 0, 2, 2, 5, 7, 1, 0, 3, 4, 3, 8, 0x1c, 9, 0, 0, 7, 8, 0x38})
	f.Add([]byte{1, 2, 5, 2, 6, 2, 7, 2, 8, 7, 0, 2, 9, 8, 0x29, 0, 1, 8, 0x0a})
	f.Add([]byte{2, 0, 1, 0, 3, 0, 5, 0, 7, 10, 0, 9, 2, 6, 0x13, 10, 0, 8, 0})
	f.Add([]byte{6, 0, 1, 1, 1, 0, 1, 10, 0, 7, 0, 9, 1, 2, 0x22, 10, 0, 8, 0x1e})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 401 {
			in = in[:401]
		}
		opts := kv.Options{Durability: kv.Strict, SegmentSize: 256, SyncInterval: time.Hour}
		if len(in) > 0 {
			if in[0]&1 == 1 {
				opts.Durability = kv.Buffered
			}
			if keep := int(in[0] >> 1 & 3); keep > 0 {
				opts.Retention, opts.CompactAt = kv.Retention{KeepVersions: keep}, -1
			}
			in = in[1:]
		}
		h := kvtest.NewRunner(t, opts, 1)
		for _, op := range kvtest.DecodeOps(in) {
			h.Do(op)
		}
		h.Check()
	})
}
