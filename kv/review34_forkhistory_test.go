package kv

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Review 34 read API.md's "History of a forked key shows src's versions up
// to at, then dst's own" as src's versions followed by what dst's key held
// before the fork (versions a DropRun ended), and found those missing. The
// sentence tells the key's lineage in time order: dst's versions written
// since the fork, newest first, then src's up to at; its History stays
// newest first, and the dropped history, no part of what dst became, is
// not in it. Reads at versions before the fork still find that history.
// This pins that reading (the ForkRun and History docs now spell it out).
func TestReview34ForkOverDroppedRunHistory(t *testing.T) {
	db := openT(t, nil)
	d1, err := db.Put("dst", "k", String("dst-old"))
	require.NoError(t, err)
	s1, err := db.Put("src", "k", String("src-1"))
	require.NoError(t, err)
	drop, err := db.DropRun("dst")
	require.NoError(t, err)
	require.NotZero(t, drop)
	before, err := db.History("dst", "k", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []Version{drop, d1}, versionsOf(before), "dst's history before the fork")
	fork, err := db.ForkRun("src", "dst", 0)
	require.NoError(t, err)
	w, err := db.Put("dst", "k", String("dst-new"))
	require.NoError(t, err)

	h, err := db.History("dst", "k", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []Version{w, s1}, versionsOf(h), "dst's own since the fork, then src's up to it")
	require.Equal(t, String("src-1"), h[1].Value)
	page, err := db.History("dst", "k", 1, w)
	require.NoError(t, err)
	require.Equal(t, []Version{s1}, versionsOf(page), "paged with before")

	g, err := db.GetAt("dst", "k", d1)
	require.NoError(t, err, "a read before the fork sees the database as it was")
	require.Equal(t, String("dst-old"), g.Value)
	_, err = db.GetAt("dst", "k", drop)
	require.ErrorIs(t, err, ErrNotFound, "deleted by the DropRun")
	g, err = db.GetAt("dst", "k", fork)
	require.NoError(t, err)
	require.Equal(t, String("src-1"), g.Value, "at the fork, dst reads src")
}

func versionsOf(h []Versioned) []Version {
	out := make([]Version, len(h))
	for i, v := range h {
		out[i] = v.Version
	}
	return out
}
