package compaction

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
)

// chain builds a key's versions, newest first: versions v with
// timestamps ts (seconds), in segment 1, a tombstone where tomb.
func chain(vts [][2]int64, tomb bool) []index.Record {
	var recs []index.Record
	for i, x := range vts {
		r := index.Record{Version: uint64(x[0]), Timestamp: x[1] * 1e6, Segment: 1}
		if i == 0 && tomb {
			r.Flags = index.FlagTombstone
		}
		recs = append(recs, r)
	}
	return recs
}

func TestHorizon(t *testing.T) {
	none := uint64(math.MaxUint64)
	puts := chain([][2]int64{{40, 400}, {30, 300}, {20, 200}, {10, 100}}, false)
	dead := chain([][2]int64{{40, 400}, {30, 300}, {20, 200}, {10, 100}}, true)
	for _, tc := range []struct {
		name  string
		p     Policy
		recs  []index.Record
		drop  int
		clear uint64
	}{
		{"keeps all", Policy{Pin: none}, puts, -1, 0},
		{"newest 1", Policy{KeepVersions: 1, Pin: none}, puts, 1, 40},
		{"newest 3", Policy{KeepVersions: 3, Pin: none}, puts, 3, 20},
		{"more than held", Policy{KeepVersions: 9, Pin: none}, puts, -1, 0},
		// Window from 250: 40 and 30 within it, 20 current at its start.
		{"window", Policy{KeepFor: 150 * time.Second, Now: 400e6, Pin: none}, puts, 3, 20},
		{"either rule keeps", Policy{KeepVersions: 1, KeepFor: 150 * time.Second, Now: 400e6, Pin: none}, puts, 3, 20},
		{"a snapshot at 25 needs 20", Policy{KeepVersions: 1, Pin: 25}, puts, 3, 20},
		{"a tombstone with nothing older goes", Policy{KeepVersions: 1, Pin: none}, dead, 0, 40},
		// Window from 395: the tombstone within it, 30 current at its start.
		{"a tombstone within the window stays", Policy{KeepVersions: 1, KeepFor: 10 * time.Second, Now: 405e6, Pin: none}, dead, 2, 30},
		{"a tombstone under a snapshot needing older", Policy{KeepVersions: 1, Pin: 35}, dead, 2, 30},
	} {
		drop, clear := tc.p.Horizon(tc.recs, nil)
		require.Equal(t, tc.drop, drop, tc.name)
		require.Equal(t, tc.clear, clear, tc.name)
	}
	// Only versions in the inputs, and only with every older one.
	split := chain([][2]int64{{40, 400}, {30, 300}, {20, 200}, {10, 100}}, false)
	split[3].Segment = 2
	drop, _ := Policy{KeepVersions: 1, Pin: none}.Horizon(split, map[uint32]bool{1: true})
	require.Equal(t, -1, drop, "version 10 is in a segment not compacted")
	drop, _ = Policy{KeepVersions: 1, Pin: none}.Horizon(split, map[uint32]bool{1: true, 2: true})
	require.Equal(t, 1, drop)
}
