package segment

import (
	"testing"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/stretchr/testify/require"
)

// compactedSeg returns a compacted segment covering versions 10..20.
func compactedSeg() *seg {
	h := NewHeader(3, 10, 1_700_000_000_000_000)
	h.Last = 20
	return &seg{h: h, enc: NewEncoder(h), data: h.Encode(), synced: HeaderSize}
}

func (s *seg) commitAt(version uint64, ents ...EntrySpec) error {
	var err error
	s.data, _, err = s.enc.AppendCommit(s.data, int64(len(s.data)), s.synced, version, s.enc.ts+7, ents, nil)
	return err
}

func TestCompactedSegmentSkipsVersions(t *testing.T) {
	s := compactedSeg()
	require.NoError(t, s.commitAt(10, put("r", "a", "1")))
	require.NoError(t, s.commitAt(13, put("r", "b", "2")))
	require.NoError(t, s.commitAt(20, del("r", "a")))
	require.Error(t, s.commitAt(21, put("r", "c", "3")), "beyond the range")

	got, err := DecodeHeader(s.data)
	require.NoError(t, err)
	require.True(t, got.Compacted())
	require.EqualValues(t, 20, got.Last)
	frames, _, err := scanAll(t, s.data)
	require.NoError(t, err)
	var vs []uint64
	for _, f := range frames {
		vs = append(vs, f.Version)
	}
	require.Equal(t, []uint64{10, 13, 20}, vs)

	// No markers in a compacted segment.
	out, ok, err := s.enc.AppendMarker(nil, int64(len(s.data)), int64(len(s.data)))
	require.NoError(t, err)
	require.False(t, ok)
	require.Empty(t, out)
}

func TestCompactedSegmentRefusesOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vdelta uint64
		count  uint64
		msg    string
	}{
		{"before the range", 0, 1, "version 10 in a compacted segment at version 14"}, // after 13: 10 again
		{"beyond the range", 11, 1, "version 21 in a compacted segment"},
		{"a marker", 4, 0, "a sync marker in a compacted segment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := compactedSeg()
			require.NoError(t, s.commitAt(10, put("r", "a", "1")))
			require.NoError(t, s.commitAt(13, put("r", "b", "2")))
			ents := entryBytes(byte(OpPut|1<<flagRunShift), 1, "k", 1, "v")
			if tc.count == 0 {
				ents = nil
			}
			s.data = WrapEntries(s.data, s.h, tc.vdelta, 0, uint64(len(s.data)), tc.count, ents)
			frames, _, err := scanAll(t, s.data)
			require.ErrorIs(t, err, ErrSequence)
			require.ErrorContains(t, err, tc.msg)
			require.Len(t, frames, 2)
		})
	}
	// A header whose range ends before it starts is damage.
	h := NewHeader(3, 10, 1)
	h.Last = 9
	_, err := DecodeHeader(h.Encode())
	require.ErrorIs(t, err, ErrBadHeader)
}

func TestCreateCompacted(t *testing.T) {
	m := vfs.NewMem()
	require.NoError(t, m.MkdirAll("/d"))
	w, err := CreateCompacted(m, "/d", 7, 100, 200, 5)
	require.NoError(t, err)
	_, offs, err := w.AppendCommit(150, 6, []EntrySpec{put("r", "k", "v")}, nil)
	require.NoError(t, err)
	s, err := w.Seal(m)
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, []uint64{150}, commitsIn(t, s))
	b, err := s.Slice(offs[0], 1)
	require.NoError(t, err)
	require.Equal(t, "v", string(b))
	_, err = CreateCompacted(m, "/d", 8, 100, 99, 5)
	require.Error(t, err)
}
