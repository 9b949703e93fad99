package kv_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

func TestReview47BadInputAndStates(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, nil)
	require.NoError(t, err)
	_, err = db.Put("r", "k", kv.Int(1))
	require.NoError(t, err)
	long := kv.RunID(strings.Repeat("x", 257))
	for _, run := range []kv.RunID{"", long, "a\x00b"} {
		_, err = db.DropRun(run)
		require.ErrorIs(t, err, kv.ErrInvalidRun)
		_, err = db.ForkRun(run, "d", 0)
		require.ErrorIs(t, err, kv.ErrInvalidRun)
		_, err = db.ForkRun("r", run, 0)
		require.ErrorIs(t, err, kv.ErrInvalidRun)
		_, err = db.Changes(run, "", 0, 0)
		require.ErrorIs(t, err, kv.ErrInvalidRun)
		_, err = db.Diff(run, 0, 1)
		require.ErrorIs(t, err, kv.ErrInvalidRun)
		_, err = db.Range(run, kv.RangeOptions{})
		require.ErrorIs(t, err, kv.ErrInvalidRun)
	}
	for _, p := range []string{"_strata/", "a\x00", "\xff"} {
		_, err = db.Changes("r", p, 0, 0)
		require.ErrorIs(t, err, kv.ErrInvalidKey, p)
		_, err = db.Range("r", kv.RangeOptions{Start: p})
		require.ErrorIs(t, err, kv.ErrInvalidKey, p)
	}
	cs, err := db.Changes("r", "", 0, -5)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	cs, err = db.Changes("r", "", 0, int(^uint(0)>>1))
	require.NoError(t, err)
	require.Len(t, cs, 1)
	pg, err := db.Range("r", kv.RangeOptions{Limit: int(^uint(0) >> 1)})
	require.NoError(t, err)
	require.Len(t, pg.Entries, 1)
	pg, err = db.Range("r", kv.RangeOptions{Limit: -1, Reverse: true})
	require.NoError(t, err)
	require.Len(t, pg.Entries, 1)
	// A cursor of another run, another direction, or a Scan cursor.
	for i := range 3 {
		_, err = db.Put("r", string(rune('a'+i)), kv.Int(1))
		require.NoError(t, err)
	}
	pg, err = db.Range("r", kv.RangeOptions{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, pg.Cursor)
	_, err = db.Range("s", kv.RangeOptions{Limit: 1, Cursor: pg.Cursor})
	require.ErrorIs(t, err, kv.ErrInvalidKey)
	_, err = db.Range("r", kv.RangeOptions{Limit: 1, Cursor: pg.Cursor, Reverse: true})
	require.ErrorIs(t, err, kv.ErrInvalidKey)
	_, err = db.Range("r", kv.RangeOptions{Limit: 1, Cursor: pg.Cursor, Start: "a"})
	require.ErrorIs(t, err, kv.ErrInvalidKey)
	sp, err := db.Scan("r", "", 1, "")
	require.NoError(t, err)
	_, err = db.Range("r", kv.RangeOptions{Limit: 1, Cursor: sp.Cursor})
	require.ErrorIs(t, err, kv.ErrInvalidKey)
	_, err = db.Scan("r", "", 1, pg.Cursor)
	require.ErrorIs(t, err, kv.ErrInvalidKey)

	require.NoError(t, db.Close())
	ro, err := kv.Open(dir, &kv.Options{ReadOnly: true})
	require.NoError(t, err)
	_, err = ro.DropRun("r")
	require.ErrorIs(t, err, kv.ErrReadOnly)
	_, err = ro.ForkRun("r", "d", 0)
	require.ErrorIs(t, err, kv.ErrReadOnly)
	cs, err = ro.Changes("r", "", 0, 0)
	require.NoError(t, err)
	require.Len(t, cs, 4)
	require.NoError(t, ro.WaitFor(context.Background(), ro.LastVersion()))
	require.NoError(t, ro.Close())

	for name, f := range map[string]func() error{
		"runs":    func() error { _, err := db.Runs(); return err },
		"drop":    func() error { _, err := db.DropRun("r"); return err },
		"fork":    func() error { _, err := db.ForkRun("r", "d", 0); return err },
		"range":   func() error { _, err := db.Range("r", kv.RangeOptions{}); return err },
		"changes": func() error { _, err := db.Changes("r", "", 0, 0); return err },
		"diff":    func() error { _, err := db.Diff("r", 0, 1); return err },
		"waitfor": func() error { return db.WaitFor(context.Background(), 1) },
		"ckpt":    func() error { _, err := db.Checkpoint(t.TempDir() + "/c"); return err },
	} {
		if err := f(); !errors.Is(err, kv.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}
