package kv

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// Review 10: readValue (Get) and readValues (Scan, History) must give the
// same error for the same record (TestReview8ReadValueMatchesReadValues).
// For a record of the active, mapped segment whose field's length runs
// past the flushed bytes, readValue goes through Writer.Value ("no value
// field of a valid length at N") and readValues through Writer.From and
// FieldValue ("no value field of a valid length here"): the messages
// differ. (The review-8 test checks a bad field in a sealed segment only,
// where both go through FieldValue.)
func TestReview10ReadValueMatchesReadValuesActive(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 64 << 10, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	raw := make([]byte, 20000)
	for i := range raw {
		raw[i] = byte(i*7919 + i>>3)
	}
	mustPut(t, db, "r", "active-b", Bytes(raw))
	cur := db.segs.Load()
	good := review8Rec(t, db, "active-b")
	require.Equal(t, cur.active.ID(), good.Segment)
	require.NotNil(t, cur.active.From(good.Field), "the active segment is mapped")
	// Fields inside the value: its bytes read as a length, which for
	// some of them runs past the flushed bytes.
	for d := int64(1); d <= 16; d++ {
		bad := good
		bad.Field += d
		review8Same(t, db, cur, bad, fmt.Sprintf("a field %d bytes inside a value of the active segment", d))
	}
}
