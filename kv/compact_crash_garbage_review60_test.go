package kv

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// As review 51's crash points of a retention Compact, but each image
// keeps a random half of every file's unsynced 512-byte pages (torn hint
// files, a manifest's temporary, outputs written but not yet synced)
// and fills the rest with garbage or zeros: every image still opens to
// the state before the Compact or after it, and then takes a write, a
// Compact and a reopen.
func TestCompactCrashTornUnsyncedReview60(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem, -1, false)
	opts := Options{CompactAt: -1}
	r51Build(t, efs, opts, 7, 20, 12)
	opts.Retention.KeepVersions = 1

	db, err := openMem(t, efs, opts)
	require.NoError(t, err)
	before := r51Snap(t, db)
	var mu sync.Mutex
	type image struct {
		fs   *vfs.Mem
		what string
	}
	var images []image
	n := 0
	efs.SetAfter(func(op vfs.Op) {
		mu.Lock()
		defer mu.Unlock()
		n++
		variants := 3
		if raceEnabled {
			variants = 1 // about ten times slower
			if n%3 != 0 {
				return
			}
		}
		for variant := range variants {
			keep := func(name string, page int64) bool {
				h := fnv.New64a()
				fmt.Fprintf(h, "%s/%d/%d/%d", name, page, n, variant)
				return h.Sum64()%2 == 0
			}
			fill := func(b []byte) {
				for i := range b {
					b[i] = byte(0x5a ^ i*7)
				}
			}
			if variant == 2 {
				fill = func(b []byte) { clear(b) }
			}
			images = append(images, image{mem.CrashImage(vfs.Pages(512, keep, fill)), fmt.Sprintf("torn image %d after %v", variant, op)})
		}
	})
	st, err := db.Compact(context.Background())
	efs.SetAfter(nil)
	require.NoError(t, err)
	require.Positive(t, st.VersionsDropped)
	after := r51Snap(t, db)
	require.NoError(t, db.Close())

	nb, na := 0, 0
	for _, img := range images {
		db, err := openMem(t, img.fs, opts)
		require.NoError(t, err, img.what)
		got := r51Snap(t, db)
		db1 := r51Diff(before, got)
		db2 := r51DiffT(after, got, true)
		switch {
		case db1 == "":
			nb++
		case db2 == "":
			na++
		default:
			t.Fatalf("%s: neither before nor after the Compact:\nagainst before:\n%s\nagainst after:\n%s", img.what, db1, db2)
		}
		_, err = db.Put("ra", "fresh", String("x"))
		require.NoError(t, err, img.what)
		_, err = db.Compact(context.Background())
		require.NoError(t, err, img.what)
		require.NoError(t, db.Close(), img.what)
		db, err = openMem(t, img.fs, opts)
		require.NoError(t, err, "%s: reopened after a write and a Compact", img.what)
		v := mustGet(t, db, "ra", "fresh")
		s, _ := v.Value.AsString()
		require.Equal(t, "x", s)
		require.NoError(t, db.Close())
	}
	t.Logf("%d images: %d before, %d after", len(images), nb, na)
	require.Positive(t, nb)
	require.Positive(t, na)
}
