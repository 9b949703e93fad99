package recovery_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

// failCreateFS fails Create of names with the given suffix while armed
// (a crash or a full disk at that step).
type failCreateFS struct {
	vfs.FS
	suffix string
	armed  atomic.Bool
}

func (f *failCreateFS) Create(name string) (vfs.File, error) {
	if f.armed.Load() && strings.HasSuffix(name, f.suffix) {
		return nil, &fs.PathError{Op: "create", Path: name, Err: errors.New("injected failure")}
	}
	return f.FS.Create(name)
}

// A salvage that stops midway (a crash, a full disk) must not leave the
// directory without the intact versions: the damaged segment's intact
// frames replace it atomically before anything is moved aside, so the next
// Open, strict or not, still has them. (Found by review.)
func TestInterruptedSalvageLosesNothing(t *testing.T) {
	mem := vfs.NewMem()
	strict := &kv.Options{Durability: kv.Strict}
	db, err := kvtest.OpenFS(mem, "/db", strict)
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		_, err := db.Put("r", fmt.Sprintf("k%d", i), kv.String(fmt.Sprintf("value %d", i)))
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	// Bit rot in the sixth commit (fsynced, claimed by later frames).
	path := "/db/" + segment.FileName(1)
	b, err := vfs.ReadFile(mem, path)
	require.NoError(t, err)
	sc, err := segment.NewScanner(b)
	require.NoError(t, err)
	var sixth segment.Frame
	for i := 0; i < 6; i++ {
		sixth, err = sc.Next()
		require.NoError(t, err)
	}
	b[sixth.Offset+int64(sixth.Size)-1] ^= 1
	require.NoError(t, vfs.WriteFileAtomic(mem, path, b))

	ffs := &failCreateFS{FS: mem, suffix: ".seg.tmp"}
	ffs.armed.Store(true)
	_, err = kvtest.OpenFS(ffs, "/db", &kv.Options{Durability: kv.Strict, Recovery: kv.RecoverSalvage})
	require.Error(t, err, "salvage could not write the intact prefix back")
	names, _ := mem.List("/db")
	t.Logf("directory after the interrupted salvage: %v", names)

	db, err = kvtest.OpenFS(mem, "/db", strict)
	if err == nil {
		last, rep := db.LastVersion(), db.Recovery()
		require.NoError(t, db.Close())
		require.EqualValues(t, 5, last,
			"after an interrupted salvage a strict Open opened at version %d with report %+v: intact versions 1-5 gone without a word", last, rep)
	}
}
