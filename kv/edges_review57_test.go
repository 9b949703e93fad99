package kv

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func r57keys(p Page) []string {
	var out []string
	for _, e := range p.Entries {
		out = append(out, e.Key)
	}
	return out
}

// Cursors and bounds: a cursor from another run, other bounds, the other
// direction, Scan, or garbage gets ErrInvalidKey (no panic); empty,
// equal and inverted bounds; Cursor "" exactly when nothing follows.
func TestReview57RangeEdges(t *testing.T) {
	db, err := Open("", &Options{Durability: InMemory})
	require.NoError(t, err)
	defer db.Close()
	for _, k := range []string{"a", "b", "c", "d"} {
		_, err := db.Put("r", k, Int(1))
		require.NoError(t, err)
		_, err = db.Put("s", k, Int(1))
		require.NoError(t, err)
	}
	p, err := db.Range("r", RangeOptions{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, r57keys(p))
	cur := p.Cursor
	require.NotEmpty(t, cur)
	sp, err := db.Scan("r", "", 2, "")
	require.NoError(t, err)
	bad := []struct {
		name string
		run  RunID
		o    RangeOptions
	}{
		{"other run", "s", RangeOptions{Limit: 2, Cursor: cur}},
		{"reverse", "r", RangeOptions{Limit: 2, Reverse: true, Cursor: cur}},
		{"other start", "r", RangeOptions{Start: "a", Limit: 2, Cursor: cur}},
		{"other end", "r", RangeOptions{End: "z", Limit: 2, Cursor: cur}},
		{"scan cursor", "r", RangeOptions{Limit: 2, Cursor: sp.Cursor}},
		{"garbage", "r", RangeOptions{Cursor: "!!!"}},
		{"short", "r", RangeOptions{Cursor: "AgAA"}},
		{"truncated", "r", RangeOptions{Cursor: cur[:len(cur)-1]}},
		{"long", "r", RangeOptions{Cursor: strings.Repeat("A", 100000)}},
		{"inverted", "r", RangeOptions{Start: "c", End: "b"}},
	}
	for _, b := range bad {
		_, err := db.Range(b.run, b.o)
		require.ErrorIs(t, err, ErrInvalidKey, b.name)
		_, err = db.Scan("r", "", 2, b.o.Cursor)
		if b.o.Cursor != "" && b.name != "scan cursor" && b.name != "other run" && b.name != "reverse" && b.name != "other start" && b.name != "other end" {
			require.ErrorIs(t, err, ErrInvalidKey, "scan "+b.name)
		}
	}
	_, err = db.Scan("r", "", 2, cur)
	require.ErrorIs(t, err, ErrInvalidKey, "range cursor in Scan")
	// The limit is not part of the options a cursor is tied to.
	p2, err := db.Range("r", RangeOptions{Limit: 5, Cursor: cur})
	require.NoError(t, err)
	require.Equal(t, []string{"c", "d"}, r57keys(p2))
	require.Empty(t, p2.Cursor)

	for _, c := range []struct {
		o    RangeOptions
		want []string
		more bool
	}{
		{RangeOptions{Start: "b", End: "b"}, nil, false},
		{RangeOptions{Start: "b", End: "b", Reverse: true}, nil, false},
		{RangeOptions{Start: "e"}, nil, false},
		{RangeOptions{End: "a"}, nil, false},
		{RangeOptions{End: "a", Reverse: true}, nil, false},
		{RangeOptions{Start: "d", Reverse: true}, []string{"d"}, false},
		{RangeOptions{Start: "b", End: "d", Limit: 2}, []string{"b", "c"}, false},
		{RangeOptions{Start: "b", End: "d", Limit: 2, Reverse: true}, []string{"c", "b"}, false},
		{RangeOptions{Start: "b", Limit: 2, Reverse: true}, []string{"d", "c"}, true},
		{RangeOptions{Limit: 4, Reverse: true}, []string{"d", "c", "b", "a"}, false},
		{RangeOptions{Start: "a\x01", End: "c\x01"}, []string{"b", "c"}, false},
	} {
		p, err := db.Range("r", c.o)
		require.NoError(t, err, "%+v", c.o)
		require.Equal(t, c.want, r57keys(p), "%+v", c.o)
		require.Equal(t, c.more, p.Cursor != "", "%+v", c.o)
	}
	// Unknown run.
	p, err = db.Range("nobody", RangeOptions{Reverse: true})
	require.NoError(t, err)
	require.Empty(t, p.Entries)
	require.Empty(t, p.Cursor)
	// Reverse paging with a delete of the page's last key and an insert
	// behind the cursor between pages.
	p, err = db.Range("r", RangeOptions{Reverse: true, Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"d", "c"}, r57keys(p))
	_, err = db.Delete("r", "c")
	require.NoError(t, err)
	_, err = db.Put("r", "cc", Int(1))
	require.NoError(t, err)
	p, err = db.Range("r", RangeOptions{Reverse: true, Limit: 2, Cursor: p.Cursor})
	require.NoError(t, err)
	require.Equal(t, []string{"b", "a"}, r57keys(p))
	require.Empty(t, p.Cursor)
}

// Changes and Diff edges: bad run and prefix, a commit larger than the
// limit comes whole, after beyond the last version, Diff both ways.
func TestReview57ChangesDiffEdges(t *testing.T) {
	db, err := Open("", &Options{Durability: InMemory})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Changes("", "", 0, 0)
	require.ErrorIs(t, err, ErrInvalidRun)
	_, err = db.Changes("r", "_strata/", 0, 0)
	require.ErrorIs(t, err, ErrInvalidKey)
	_, err = db.Diff("", 0, 1)
	require.ErrorIs(t, err, ErrInvalidRun)
	v1, err := db.MPut("r", []KeyValue{{"c", Int(1)}, {"a", Int(1)}, {"b", Int(1)}})
	require.NoError(t, err)
	v2, err := db.Put("r", "a", Int(2))
	require.NoError(t, err)
	cs, err := db.Changes("r", "", 0, 1)
	require.NoError(t, err)
	require.Len(t, cs, 3)
	require.Equal(t, "a", cs[0].Key)
	require.Equal(t, "c", cs[2].Key)
	cs, err = db.Changes("r", "", v1, 1)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, v2, cs[0].Version)
	cs, err = db.Changes("r", "", v2+100, 0)
	require.NoError(t, err)
	require.NotNil(t, cs)
	require.Empty(t, cs)
	d, err := db.Diff("r", v2, v1)
	require.NoError(t, err)
	require.Len(t, d, 1)
	require.Equal(t, v1, d[0].Version)
	n, _ := d[0].Value.AsInt()
	require.Equal(t, int64(1), n)
	d, err = db.Diff("r", 0, v2+10)
	require.NoError(t, err)
	require.Len(t, d, 3)
	_, err = db.Delete("r", "b")
	require.NoError(t, err)
	d, err = db.Diff("r", v2, 0)
	require.NoError(t, err)
	require.Len(t, d, 3) // all absent at 0
	for _, c := range d {
		require.True(t, c.Deleted)
		require.Zero(t, c.Version, "never existed at 0")
	}
	if errors.Is(err, ErrHistoryTrimmed) {
		t.Fatal(err)
	}
}
