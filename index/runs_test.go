package index

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// versionsOf lists the versions Versions yields at snap.
func versionsOf(c Chain, snap uint64) []uint64 {
	var vs []uint64
	c.Versions(snap, func(r Record) bool {
		vs = append(vs, r.Version)
		return true
	})
	return vs
}

func TestDeleteRun(t *testing.T) {
	ix := New()
	defer ix.Close()
	require.NoError(t, ix.Add("r", "a", mkrec(1, false)))
	require.NoError(t, ix.Add("r", "b", mkrec(2, false)))
	require.NoError(t, ix.Add("r", "c", mkrec(3, true))) // dead already
	require.NoError(t, ix.Add("s", "a", mkrec(4, false)))
	n, err := ix.DeleteRun("r", 5, 50)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	a, _ := ix.Find("r", "a")
	x, ok := a.At(5)
	require.True(t, ok)
	require.True(t, x.Tombstone() && x.Synthetic())
	require.Equal(t, uint64(5), x.Version)
	x, _ = a.At(4)
	require.Equal(t, uint64(1), x.Version, "below the drop, as before")
	c, _ := ix.Find("r", "c")
	require.Equal(t, uint64(3), c.Changed(), "a dead key gets no deletion")
	s, _ := ix.Find("s", "a")
	x, _ = s.Newest()
	require.False(t, x.Tombstone(), "another run is untouched")
	keys, live, versions := ix.Counts()
	require.EqualValues(t, []int64{4, 1, 6}, []int64{keys, live, versions})

	// Compaction's drop of the deletion with its key's history.
	require.Equal(t, 2, a.Drop(5))
	_, live, versions = ix.Counts()
	require.EqualValues(t, []int64{1, 4}, []int64{live, versions})
	_, err = ix.DeleteRun("r", 2, 0)
	require.NoError(t, err, "no live key: nothing to refuse")
	require.NoError(t, ix.Add("r", "b", mkrec(6, false)))
	_, err = ix.DeleteRun("r", 6, 0)
	require.ErrorIs(t, err, ErrNotNewer)
}

func TestForkRun(t *testing.T) {
	ix := New()
	defer ix.Close()
	// src: a at 1, 3; b at 2, deleted at 4; c at 5 (after the fork's at).
	require.NoError(t, ix.Add("src", "a", mkrec(1, false)))
	require.NoError(t, ix.Add("src", "b", mkrec(2, false)))
	require.NoError(t, ix.Add("src", "a", mkrec(3, false)))
	// dst held "a" once, deleted before the fork.
	require.NoError(t, ix.Add("dst", "a", mkrec(6, false)))
	require.NoError(t, ix.Add("dst", "a", mkrec(7, true)))
	require.NoError(t, ix.Add("src", "b", mkrec(8, true)))
	require.NoError(t, ix.Add("src", "c", mkrec(9, false)))

	_, err := ix.ForkRun("src", "dst", 10, 10, 0)
	require.ErrorIs(t, err, ErrRange, "at must be below the fork")
	n, err := ix.ForkRun("src", "dst", 5, 10, 100) // src as of 5: a@3, b@2
	require.NoError(t, err)
	require.Equal(t, 2, n)

	a, _ := ix.Find("dst", "a")
	x, ok := a.At(10)
	require.True(t, ok)
	require.Equal(t, mkrec(3, false), x, "the source's record")
	x, _ = a.At(9)
	require.True(t, x.Tombstone(), "a snapshot below the fork sees dst as it was")
	require.Equal(t, []uint64{3, 1}, versionsOf(a, math.MaxUint64), "src's versions up to at, dst's own hidden")
	require.Equal(t, []uint64{7, 6}, versionsOf(a, 9))
	require.Equal(t, uint64(10), a.Changed())
	x, _ = a.Newest()
	require.Equal(t, uint64(3), x.Version)
	w, ok := a.Written(10)
	require.True(t, ok)
	require.Equal(t, uint64(3), w.Version)
	_, ok = a.Written(8)
	require.False(t, ok)
	var raw []Record
	a.Raw(func(r Record) bool { raw = append(raw, r); return true })
	require.Len(t, raw, 3)
	require.True(t, raw[0].Link() && raw[0].Synthetic())
	require.Equal(t, int64(5), raw[0].Field)

	b, ok := ix.Find("dst", "b")
	require.True(t, ok)
	require.Equal(t, []uint64{2}, versionsOf(b, math.MaxUint64), "deleted in src after at: live in dst")
	_, ok = ix.Find("dst", "c")
	require.False(t, ok, "written in src after at")

	// Writes after the fork stay in their run.
	require.NoError(t, ix.Add("dst", "a", mkrec(11, false)))
	require.NoError(t, ix.Add("src", "a", mkrec(12, true)))
	require.Equal(t, []uint64{11, 3, 1}, versionsOf(a, math.MaxUint64))
	x, _ = a.Newest()
	require.Equal(t, uint64(11), x.Version)

	// A fork of the fork reads through both links.
	n, err = ix.ForkRun("dst", "third", 10, 13, 0)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	a3, _ := ix.Find("third", "a")
	require.Equal(t, []uint64{3, 1}, versionsOf(a3, math.MaxUint64))

	// DeleteRun sees keys live through a link.
	n, err = ix.DeleteRun("third", 14, 0)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	x, _ = a3.Newest()
	require.True(t, x.Tombstone())

	_, live, _ := ix.Counts()
	// live: src c; dst a (11), b (link); third none.
	require.EqualValues(t, 3, live)
	require.Error(t, ix.Add("x", "k", Record{Version: 20, Flags: flagLink}), "Add refuses a link")
}
