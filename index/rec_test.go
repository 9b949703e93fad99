package index

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// A record's fields share its words (the timestamp's high bits ride in
// the spare bits of vf and loc): every field at its limits must come back
// as written, at both places a record can start (8-byte aligned or not),
// as a node's first version and as a later one, and through Relocate.
func TestRecordFieldsAtTheirLimits(t *testing.T) {
	recs := []Record{
		{Version: 1, Timestamp: 0, Field: 0, Segment: 1},
		{Version: 2, Timestamp: 1<<32 - 1, Field: 1, Segment: 2, Flags: 1 << FlagCodecShift},
		{Version: 3, Timestamp: 1 << 32, Field: MaxOffset, Segment: MaxSegment},
		{Version: 4, Timestamp: 1<<45 - 1, Field: 1 << 31, Segment: 1 << 23},
		{Version: 5, Timestamp: 1 << 45, Field: 7, Segment: 9, Flags: FlagTombstone},
		{Version: 6, Timestamp: 1_764_547_200_000_000, Field: 123456, Segment: 77}, // 2025-12-01
		{Version: 7, Timestamp: MaxTimestamp - 1, Field: MaxOffset - 1, Segment: MaxSegment - 1},
		{Version: MaxVersion, Timestamp: MaxTimestamp, Field: MaxOffset, Segment: MaxSegment, Flags: 2 << FlagCodecShift},
	}
	odd := map[uintptr]bool{}
	for pad := range 4 {
		ix := New()
		// Keys of different lengths put first versions at both parities;
		// a pad of 4-byte records shifts the later ones.
		for i := range pad {
			require.NoError(t, ix.Add("pad", string(rune('a'+i)), Record{Version: 1, Segment: 1}))
		}
		for k := range 8 {
			key := string(make([]byte, 1+k))
			first := recs[k]
			first.Version = 1
			require.NoError(t, ix.Add("r", key, first))
			for i, r := range recs[1:] {
				r.Version = uint64(i + 2)
				if i == len(recs)-2 {
					r.Version = MaxVersion
				}
				require.NoError(t, ix.Add("r", key, r))
			}
			c, ok := ix.Find("r", key)
			require.True(t, ok)
			odd[c.ix.first(c.ref).odd()] = true
			var got []Record
			c.Raw(func(r Record) bool { got = append(got, r); return true })
			require.Len(t, got, len(recs))
			for i, r := range got {
				want := recs[len(recs)-1-i]
				if i == len(got)-1 {
					want = first
				} else if i > 0 {
					want.Version = uint64(len(recs) - i)
				}
				require.Equal(t, want, r, "key %d record %d", k, i)
			}
			// Relocate changes the place only.
			for _, r := range got {
				require.True(t, c.Relocate(r.Version, MaxSegment-uint32(k), MaxOffset-int64(k)))
				x, ok := c.Written(r.Version)
				require.True(t, ok)
				want := r
				want.Segment, want.Field = MaxSegment-uint32(k), MaxOffset-int64(k)
				require.Equal(t, want, x)
			}
		}
		ix.Close()
	}
	require.Len(t, odd, 2, "first versions at both parities")
}

// Add refuses a field beyond the limits and changes nothing.
func TestRecordBeyondLimits(t *testing.T) {
	ix := New()
	defer ix.Close()
	for _, r := range []Record{
		{Version: MaxVersion + 1, Segment: 1},
		{Version: 1, Timestamp: MaxTimestamp + 1, Segment: 1},
		{Version: 1, Timestamp: -1, Segment: 1},
		{Version: 1, Timestamp: math.MinInt64, Segment: 1},
		{Version: 1, Field: MaxOffset + 1, Segment: 1},
		{Version: 1, Field: -1, Segment: 1},
		{Version: 1, Segment: MaxSegment + 1},
	} {
		require.ErrorIs(t, ix.Add("r", "k", r), ErrRange, "%+v", r)
	}
	keys, _, versions := ix.Counts()
	require.Zero(t, keys+versions)
	_, err := ix.DeleteRun("r", 1, -1)
	require.ErrorIs(t, err, ErrRange)
	_, err = ix.ForkRun("r", "s", 1, 2, MaxTimestamp+1)
	require.ErrorIs(t, err, ErrRange)
	c, _ := ix.Find("r", "k")
	require.False(t, c.Relocate(1, 1, MaxOffset+1))
}

// A fork's links keep their source and the version it is read at, also
// at the largest version, wherever they start.
func TestLinkRecordsAtLimits(t *testing.T) {
	for pad := range 3 {
		ix := New()
		for i := range pad {
			require.NoError(t, ix.Add("pad", string(rune('a'+i)), Record{Version: 1, Segment: 1}))
		}
		at := uint64(MaxVersion - 2)
		require.NoError(t, ix.Add("src", "k", Record{Version: 5, Timestamp: MaxTimestamp - 9, Segment: 3, Field: 99}))
		require.NoError(t, ix.Add("src", "k", Record{Version: at, Timestamp: MaxTimestamp - 1, Segment: 4, Field: 100}))
		require.NoError(t, ix.Add("dst", "k", Record{Version: 1, Timestamp: 1, Segment: 2, Field: 3}))
		n, err := ix.ForkRun("src", "dst", at, MaxVersion-1, MaxTimestamp)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = ix.ForkRun("src", "new", 5, MaxVersion-1, MaxTimestamp)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		for _, tc := range []struct {
			run  string
			at   uint64
			want Record
		}{
			{"dst", at, Record{Version: at, Timestamp: MaxTimestamp - 1, Segment: 4, Field: 100}},
			{"new", 5, Record{Version: 5, Timestamp: MaxTimestamp - 9, Segment: 3, Field: 99}},
		} {
			c, ok := ix.Find(tc.run, "k")
			require.True(t, ok)
			got, ok := c.At(MaxVersion)
			require.True(t, ok)
			require.Equal(t, tc.want, got)
			var raw []Record
			c.Raw(func(r Record) bool { raw = append(raw, r); return true })
			require.True(t, raw[0].Link())
			require.Equal(t, Record{Version: MaxVersion - 1, Timestamp: MaxTimestamp, Field: int64(tc.at), Flags: flagLink}, raw[0])
			require.False(t, c.Relocate(MaxVersion-1, 1, 1), "a link has no place")
		}
		ix.Close()
	}
}
