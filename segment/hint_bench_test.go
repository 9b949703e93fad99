package segment

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-kv/strata/internal/vfs"
)

// BenchmarkBuildHint builds the hint file of a 64 MiB segment of 1000-put
// commits of 16-byte keys in random order and 100-byte values, as the
// bench's W1b leaves, and writes it (BuildHintFile, as package kv does).
// B/op is what the build allocates on the Go heap.
func BenchmarkBuildHint(b *testing.B) {
	h := NewHeader(1, 1, 1_700_000_000_000_000)
	enc := NewEncoder(h)
	data := h.Encode()
	r := rand.New(rand.NewPCG(1, 2))
	val := make([]byte, 100)
	ents := make([]EntrySpec, 1000)
	var err error
	perm := r.Perm(1 << 20)
	for n := 0; len(data) < 64<<20-200_000; n++ {
		for i := range ents {
			for j := range val {
				val[j] = byte(r.Uint32())
			}
			ents[i] = EntrySpec{Op: OpPut, Run: "default", Key: fmt.Sprintf("key:%012d", perm[(n*len(ents)+i)%len(perm)]), Value: append([]byte(nil), val...)}
		}
		data, _, err = enc.AppendCommit(data, int64(len(data)), HeaderSize, enc.Next(), h.BaseTime, ents, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(b.TempDir(), FileName(1))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := OpenSealed(vfs.Default, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	dir := b.TempDir()
	for b.Loop() {
		if err := BuildHintFile(vfs.Default, dir, s, 0); err != nil {
			b.Fatal(err)
		}
	}
}
