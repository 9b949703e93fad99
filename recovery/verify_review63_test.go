package recovery_test

import (
	iofs "io/fs"
	"path/filepath"
	"syscall"

	"fmt"
	"github.com/strata-kv/strata/segment"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/recovery"
)

// compactOnFirstSegOpen is the OS file system, except that the first
// Open of a segment file runs hook first (a writer compacting in the
// moment between Verify's listing and its reading of the segments).
type compactOnFirstSegOpen struct {
	vfs.FS
	once sync.Once
	hook func()
}

func (f *compactOnFirstSegOpen) Open(name string) (vfs.File, error) {
	if strings.HasSuffix(name, ".seg") {
		f.once.Do(f.hook)
	}
	return f.FS.Open(name)
}

// Review 63. Verify "takes no lock, so it can check a directory a DB has
// open", and review 61's fix reads the listing and the manifest as one
// state, so that a writer that rolls beside it is not taken for damage.
// A writer that compacts beside it still is: the compaction switches its
// output in (a new manifest) and removes the segments it replaced after
// Verify listed them and before it opened them, and Verify fails with
// "open segment ...: no such file or directory" (strata-inspect verify
// exits 1 on a healthy, live directory). The hook makes the timing
// deterministic: the compaction lands right before the first segment is
// opened.
func TestReview63VerifyBesideCompactingWriter(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{SegmentSize: 4096, Retention: kv.Retention{KeepVersions: 1}, CompactAt: -1})
	require.NoError(t, err)
	defer db.Close()
	for round := range 3 {
		for i := range 300 {
			_, err := db.Put("r", fmt.Sprintf("k%03d", i), kv.String(fmt.Sprintf("value %d of round %d", i, round)))
			require.NoError(t, err)
		}
	}
	clean, err := recovery.Verify(vfs.Default, dir, recovery.VerifyOptions{})
	require.NoError(t, err)
	require.False(t, clean.Corrupt(), "healthy before the compaction: %v", clean.Problems)

	var st kv.CompactStats
	fsys := &compactOnFirstSegOpen{FS: vfs.Default, hook: func() {
		st, err = db.Compact(t.Context())
		require.NoError(t, err)
	}}
	rep, verr := recovery.Verify(fsys, dir, recovery.VerifyOptions{})
	require.Positive(t, st.SegmentsIn, "the compaction replaced segments")
	require.NoError(t, verr, "Verify beside a writer that compacted: a healthy directory fails verification")
	require.False(t, rep.Corrupt(), "Verify beside a writer that compacted: %v", rep.Problems)
}

// eioManifest is the OS file system, except that opening the MANIFEST
// fails with an I/O error (a bad sector, a permission refused).
type eioManifest struct{ vfs.FS }

func (f eioManifest) Open(name string) (vfs.File, error) {
	if filepath.Base(name) == segment.ManifestName {
		return nil, &iofs.PathError{Op: "open", Path: name, Err: syscall.EIO}
	}
	return f.FS.Open(name)
}

// Review 63. Verify of a directory whose MANIFEST cannot be read (an I/O
// error) said so before review 59/61's change ("read manifest ...:
// input/output error"). Now any error of listWithManifest that is not a
// damaged manifest sends the directory to loneSegment, which opens the
// directory as a file (os.Open of a directory succeeds), fails to map
// it as a segment, and reports "DIR is neither a directory nor a segment
// file": a directory said not to be one, the I/O error hidden behind it.
func TestReview63VerifyManifestIOErrorNotCalledNoDirectory(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, nil)
	require.NoError(t, err)
	_, err = db.Put("r", "k", kv.String("v"))
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = recovery.Verify(eioManifest{vfs.Default}, dir, recovery.VerifyOptions{})
	require.Error(t, err)
	require.ErrorIs(t, err, syscall.EIO, "the I/O error reading the manifest is the cause")
	require.NotContains(t, err.Error(), "neither a directory", "a directory reported as not being one: %v", err)
}
