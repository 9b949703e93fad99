package segment

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/require"
)

// HintBuilder.Encode after the grouped loads gives the bytes of the
// encoder before it (copied below from e2f5ac6^; it also counted the
// keys the header gives, which order now counts), for builders of 0 to 3000 entries (groups of 16 cut
// anywhere), several key chunks, repeated keys, several runs.
func TestReview9EncodeSameBytesAsBefore(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for round := range 60 {
		n := []int{0, 1, 15, 16, 17, 31, 32, 33, 255, 3000}[round%10]
		var es []HintEntry
		for i := range n {
			kl := 1 + rng.IntN(40)
			if round%7 == 0 {
				kl = 1 + rng.IntN(MaxKeyLen) // ~1.5 MB of keys: several chunks
			}
			k := make([]byte, kl)
			for j := range k {
				k[j] = "ab\x00z"[rng.IntN(4)]
			}
			es = append(es, HintEntry{Run: []byte(fmt.Sprint("r", rng.IntN(3))), Key: k, Version: uint64(i + 1),
				Timestamp: rng.Int64N(1e6), Offset: HeaderSize + rng.Int64N(1<<30), Len: rng.Uint32(), Op: uint8(rng.IntN(2)), Codec: uint8(rng.IntN(2))})
			if i > 0 && rng.IntN(4) == 0 { // a later version of an earlier key
				es[i].Key, es[i].Run = es[rng.IntN(i)].Key, es[rng.IntN(i)].Run
			}
		}
		b := builderOf(es)
		h := Header{ID: 7, Salt: 99, BaseVersion: 1}
		got := b.Encode(h, 12345, uint64(n))
		order, _ := b.order()
		var two [2]HintEntry
		want := oldEncodeHintReview9(HintHeader{Segment: h.ID, Salt: h.Salt, Size: 12345, Base: h.BaseVersion, Last: uint64(n),
			LastTime: b.lastTime, Frames: b.frames}, len(order), func(i int) *HintEntry {
			e := &two[i&1]
			*e = b.entry(order[i].Ref)
			return e
		})
		require.True(t, bytes.Equal(want, got), "round %d: %d entries", round, n)
		// EncodeHint of the same entries, sorted, too.
		sorted := b.sorted()
		require.True(t, bytes.Equal(got, EncodeHint(HintHeader{Segment: h.ID, Salt: h.Salt, Size: 12345, Base: h.BaseVersion, Last: uint64(n),
			LastTime: b.lastTime, Frames: b.frames}, sorted)))
	}
}

// oldEncodeHintReview9 is encodeHint as it was before e2f5ac6.
func oldEncodeHintReview9(hd HintHeader, n int, at func(int) *HintEntry) []byte {
	hd.Entries = uint64(n)
	hd.Keys = 0
	size := HintHeaderSize + 8
	for i := range n {
		size += 16 + len(at(i).Key) // most records; append grows for the others
	}
	b := make([]byte, HintHeaderSize, size)
	var prev *HintEntry
	var ts int64
	for i := range n {
		e := at(i)
		flags := e.Op | e.Codec<<2
		newRun := prev == nil || !bytes.Equal(prev.Run, e.Run)
		sameKey := !newRun && bytes.Equal(prev.Key, e.Key)
		switch {
		case newRun:
			flags |= 1 << 4
		case sameKey:
			flags |= 1 << 5
		}
		b = append(b, flags)
		if newRun {
			b = binary.AppendUvarint(b, uint64(len(e.Run)))
			b = append(b, e.Run...)
		}
		if !sameKey {
			hd.Keys++
			p := 0
			if !newRun {
				for p < len(prev.Key) && p < len(e.Key) && prev.Key[p] == e.Key[p] {
					p++
				}
			}
			b = binary.AppendUvarint(b, uint64(p))
			b = binary.AppendUvarint(b, uint64(len(e.Key)-p))
			b = append(b, e.Key[p:]...)
			b = binary.AppendUvarint(b, e.Version-hd.Base)
		} else {
			b = binary.AppendUvarint(b, e.Version-prev.Version-1)
		}
		d := e.Timestamp - ts
		b = binary.AppendUvarint(b, uint64(d<<1^d>>63))
		ts = e.Timestamp
		b = binary.AppendUvarint(b, uint64(e.Offset))
		b = binary.AppendUvarint(b, uint64(e.Len))
		prev = e
	}
	copy(b, hintMagic[:])
	le := binary.LittleEndian
	le.PutUint32(b[8:], hintVersion)
	le.PutUint32(b[12:], hd.Segment)
	le.PutUint64(b[16:], hd.Salt)
	le.PutUint64(b[24:], uint64(hd.Size))
	le.PutUint64(b[32:], hd.Base)
	le.PutUint64(b[40:], hd.Last)
	le.PutUint64(b[48:], uint64(hd.LastTime))
	le.PutUint64(b[56:], hd.Frames)
	le.PutUint64(b[64:], hd.Entries)
	le.PutUint64(b[72:], hd.Keys)
	return le.AppendUint64(b, xxhash.Sum64(b))
}
