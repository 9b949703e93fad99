package segment

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// A frame of more than 8 entries whose key repeats, once under the run's
// name (the entry naming it) and once under its number, is refused by the
// Scanner (the hashed path of dupKey).
func TestScannerRejectsDupNamedAndNumberedReview6(t *testing.T) {
	h := NewHeader(1, 10, 0)
	for _, n := range []int{2, 8, 9, 20, 200} {
		for _, at := range []int{1, n / 2, n - 1} {
			if at < 1 {
				continue
			}
			var parts [][]byte
			parts = append(parts, entryBytes(byte(OpPut|flagRunNamed), 1, "r", 1, "k", 1, "v"))
			for i := 1; i < n; i++ {
				key := fmt.Sprint("x", i)
				if i == at {
					key = "k"
				}
				parts = append(parts, entryBytes(byte(OpPut|1<<flagRunShift), len(key), key, 1, "w"))
			}
			data := WrapEntries(h.Encode(), h, 0, 0, 0, uint64(n), bytes.Join(parts, nil))
			_, _, err := scanAll(t, data)
			require.ErrorIs(t, err, ErrMalformed, "n=%d at=%d", n, at)
		}
	}
}

// The Encoder refuses a repeated (run, key) in commits of any size, and
// accepts the same key in two runs; its scratch keeps no caller strings.
func TestEncoderDupAnySizeReview6(t *testing.T) {
	for _, n := range []int{2, 8, 9, 10, 64, 1000} {
		for _, at := range []int{0, n / 2, n - 2} {
			if at >= n-1 {
				continue
			}
			s := newSeg(1)
			ents := make([]EntrySpec, n)
			for i := range ents {
				ents[i] = put([]string{"a", "b", "c"}[i%3], fmt.Sprint("k", i), "v")
			}
			ents[n-1] = ents[at]
			_, _, err := s.enc.AppendCommit(s.data, int64(len(s.data)), s.synced, s.enc.next, s.enc.ts, ents, nil)
			require.Error(t, err, "n=%d dup of %d", n, at)
			for _, p := range s.enc.pairs[:cap(s.enc.pairs)] {
				require.Equal(t, [2]string{}, p, "scratch keeps a caller string")
			}
			// Same key, another run: accepted and scanned.
			ents[n-1] = put("zz", ents[at].Key, "v")
			s.commit(t, ents...)
			for _, p := range s.enc.pairs[:cap(s.enc.pairs)] {
				require.Equal(t, [2]string{}, p, "scratch keeps a caller string")
			}
			_, _, err = scanAll(t, s.data)
			require.NoError(t, err)
		}
	}
}

// Keys placed right up to the end of a 1 MiB chunk, of every length up to
// MaxKeyLen, with every op and codec, come back intact through Encode.
func TestHintBuilderChunkEndsReview6(t *testing.T) {
	var b HintBuilder
	var want []HintEntry
	total := 0
	i := 0
	add := func(klen int) {
		key := bytes.Repeat([]byte{byte('a' + i%26)}, klen)
		copy(key, fmt.Sprintf("%08d", i))
		if klen < 8 {
			key = []byte(fmt.Sprintf("%08d", i))[8-klen:]
		}
		op := []uint8{OpPut, OpDelete}[i%2]
		codec := uint8(0)
		n := uint32(i % 7)
		if op == OpPut {
			codec = uint8(i/2) % 2
		} else {
			n = 0
		}
		e := HintEntry{Run: []byte("r"), Key: key, Version: uint64(i + 1), Timestamp: int64(i), Offset: int64(HeaderSize + i), Len: n, Op: op, Codec: codec}
		require.NoError(t, b.add(e.Run, e.Key, e.Version, e.Timestamp, e.Offset, e.Len, e.Op, e.Codec))
		want = append(want, e)
		total += klen
		i++
	}
	// Fill three chunks exactly: MaxKeyLen keys, then one key that ends
	// the chunk at its last byte.
	for c := 0; c < 3; c++ {
		for total+MaxKeyLen <= (c+1)*keyChunk {
			add(MaxKeyLen)
		}
		if r := (c+1)*keyChunk - total; r > 0 {
			add(r)
		}
		require.Equal(t, (c+1)*keyChunk, total)
	}
	add(1)
	require.Len(t, b.chunks, 4)
	for j, e := range want {
		require.Equal(t, e, b.entry(uint32(j)), "entry %d", j)
	}
	hint := b.Encode(Header{ID: 1, BaseVersion: 1}, int64(HeaderSize+i+8), uint64(i))
	rd, err := NewHintReader(hint)
	require.NoError(t, err)
	got, err := rd.All()
	require.NoError(t, err)
	require.Len(t, got, len(want))
	byKey := map[string]HintEntry{}
	for _, e := range want {
		byKey[string(e.Key)] = e
	}
	for _, g := range got {
		w, ok := byKey[string(g.Key)]
		require.True(t, ok)
		require.Equal(t, w, g)
	}
	_ = io.EOF
}

// Key places past 4096 chunks (4 GiB of keys) and up to the chunks a
// 256 GiB segment could fill name their key: the chunk index is not cut.
func TestHintBuilderManyChunksReview6(t *testing.T) {
	full := make([]byte, keyChunk)
	for _, n := range []int{4095, 4096, 1 << 18} {
		var b HintBuilder
		b.chunks = make([][]byte, n)
		for i := range b.chunks {
			b.chunks[i] = full // full: the next key starts a chunk
		}
		k1 := bytes.Repeat([]byte{'a'}, MaxKeyLen)
		k2 := []byte("b")
		require.NoError(t, b.add([]byte("r"), k1, 1, 0, HeaderSize, 1, OpPut, CodecS2))
		require.NoError(t, b.add([]byte("r"), k2, 2, 0, HeaderSize, 0, OpDelete, CodecRaw))
		require.Len(t, b.chunks, n+1)
		e := b.entry(0)
		require.Equal(t, k1, e.Key)
		require.Equal(t, OpPut, e.Op)
		require.Equal(t, CodecS2, e.Codec)
		e = b.entry(1)
		require.Equal(t, k2, e.Key)
		require.Equal(t, OpDelete, e.Op)
		require.EqualValues(t, n, b.rec(1).key>>36)
	}
}
