package kv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/recovery"
)

func review58DB(t *testing.T, dir string, n int) *DB {
	t.Helper()
	db, err := Open(dir, &Options{Durability: Strict, SegmentSize: 4 << 10})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	for i := range n {
		_, err := db.Put("r", fmt.Sprintf("k%03d", i%40), Int(int64(i)))
		require.NoError(t, err)
	}
	return db
}

func review58OpensAt(t *testing.T, dir string, v Version) {
	t.Helper()
	cdb, err := Open(dir, &Options{ReadOnly: true})
	require.NoError(t, err, "open %s", dir)
	defer cdb.Close()
	require.Equal(t, v, cdb.LastVersion(), "%s opens at the returned version", dir)
}

// review58NoTemp fails if a *.checkpoint-* directory is left in dir.
func review58NoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		require.NotContains(t, e.Name(), ".checkpoint-", "a temporary directory left in %s", dir)
	}
}

// A dangling symbolic link is an existing name: Checkpoint must not
// replace the user's link with a directory. Before 33b6a48 Checkpoint
// made dir with MkdirAll, which refuses the link (EEXIST); since, it
// checks dir with List (which follows the link: "does not exist") and
// renames the temporary directory over it, and rename(2) replaces a
// link that is not a directory.
func TestReview58CheckpointDanglingSymlink(t *testing.T) {
	base := t.TempDir()
	db := review58DB(t, filepath.Join(base, "db"), 100)
	link, target := filepath.Join(base, "latest"), filepath.Join(base, "target")
	require.NoError(t, os.Symlink(target, link))

	v, err := db.Checkpoint(link)
	fi, lerr := os.Lstat(link)
	require.NoError(t, lerr)
	require.True(t, fi.Mode()&fs.ModeSymlink != 0,
		"the symbolic link %s was replaced by a %v (Checkpoint returned %d, %v)", link, fi.Mode(), v, err)
	if err == nil {
		review58OpensAt(t, target, v)
	}
	review58NoTemp(t, base)
}

// A name as long as the file system allows (255 bytes on Linux) worked
// as a checkpoint directory before 33b6a48; the temporary name beside it
// adds 20 bytes (".checkpoint-XXXXXXXX") and now fails with
// ENAMETOOLONG for any name of 236 to 255 bytes.
func TestReview58CheckpointLongName(t *testing.T) {
	base := t.TempDir()
	db := review58DB(t, filepath.Join(base, "db"), 50)
	name := filepath.Join(base, strings.Repeat("c", 240))
	require.NoError(t, os.Mkdir(name, 0o700), "the file system takes a 240-byte name")
	require.NoError(t, os.Remove(name))

	v, err := db.Checkpoint(name)
	require.NoError(t, err, "a checkpoint into a 240-byte name, which mkdir accepts")
	review58OpensAt(t, name, v)
}

// Paths: trailing slash, "x/.", ".", "..", "missing/..", an existing
// file, a symbolic link to a directory; a dir inside the database's own
// directory, and a leftover temporary directory there, which Open and
// Verify of the database ignore.
func TestReview58CheckpointPathForms(t *testing.T) {
	base := t.TempDir()
	dbDir := filepath.Join(base, "db")
	db := review58DB(t, dbDir, 200)
	t.Chdir(base)

	for _, d := range []string{".", "..", "missing/..", "db", "db/", "./db/."} {
		_, err := db.Checkpoint(d)
		require.ErrorIs(t, err, fs.ErrExist, "%q", d)
	}
	require.NoError(t, os.WriteFile("file", []byte("x"), 0o600))
	_, err := db.Checkpoint("file")
	require.Error(t, err)
	_, err = db.Checkpoint("file/")
	require.Error(t, err)
	require.NoError(t, os.Symlink(dbDir, "dblink"))
	_, err = db.Checkpoint("dblink")
	require.ErrorIs(t, err, fs.ErrExist)

	for _, d := range []string{"a/", "b/.", "c//", "./d"} {
		v, err := db.Checkpoint(d)
		require.NoError(t, err, "%q", d)
		review58OpensAt(t, filepath.Clean(d), v)
	}
	// As the kernel resolves it (mkdir e/f/../g fails while e/f is
	// missing), as before 33b6a48; nothing is left.
	_, err = db.Checkpoint("e/f/../g")
	require.Error(t, err, "e/f/../g, e/f missing")
	review58NoTemp(t, base)

	// Inside the database's directory, while the database is open.
	v, err := db.Checkpoint(filepath.Join(dbDir, "cp"))
	require.NoError(t, err)
	review58OpensAt(t, filepath.Join(dbDir, "cp"), v)
	review58NoTemp(t, dbDir)
	// A crash's leftover: a temporary directory, partly written.
	tmp := filepath.Join(dbDir, "cp2.checkpoint-0badf00d")
	require.NoError(t, os.Mkdir(tmp, 0o700))
	b, err := os.ReadFile(filepath.Join(dbDir, "cp", "MANIFEST"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(tmp, "MANIFEST"), b, 0o600))
	last := db.LastVersion()
	require.NoError(t, db.Close())

	for _, ro := range []bool{false, true} {
		db2, err := Open(dbDir, &Options{ReadOnly: ro})
		require.NoError(t, err, "read-only %v: the database's directory with a checkpoint and a leftover temporary directory in it", ro)
		require.Equal(t, last, db2.LastVersion())
		require.NoError(t, db2.Close())
	}
	rep, err := recovery.Verify(vfs.Default, dbDir, recovery.VerifyOptions{})
	require.NoError(t, err)
	require.Empty(t, rep.Problems)
	_, err = os.Stat(filepath.Join(tmp, "MANIFEST"))
	require.NoError(t, err, "Open leaves the temporary directory alone")
	_, err = Open(tmp, &Options{ReadOnly: true})
	require.ErrorIs(t, err, ErrCorrupt, "a partial temporary directory is refused as damaged")
}

// Concurrent Checkpoints into one dir and into distinct dirs, while
// writers and Compact run: into one dir exactly one succeeds (the
// others fs.ErrExist), every checkpoint opens at its version, and no
// temporary directory is left.
func TestReview58CheckpointConcurrent(t *testing.T) {
	base := t.TempDir()
	db, err := Open(filepath.Join(base, "db"), &Options{SegmentSize: 4 << 10})
	require.NoError(t, err)
	defer db.Close()
	for i := range 300 {
		_, err := db.Put("r", fmt.Sprintf("k%03d", i%40), Int(int64(i)))
		require.NoError(t, err)
	}
	stop := make(chan struct{})
	var wwg sync.WaitGroup
	for w := range 2 {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.Put("r", fmt.Sprintf("w%d-%03d", w, i%50), Int(int64(i))); err != nil {
					t.Error(err)
					return
				}
				if i%100 == 0 && w == 0 {
					if _, err := db.Compact(context.Background()); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	for round := range 3 {
		same := filepath.Join(base, fmt.Sprintf("same%d", round))
		type res struct {
			dir string
			v   Version
			err error
		}
		out := make(chan res, 8)
		var wg sync.WaitGroup
		for i := range 8 {
			d := same
			if i%2 == 1 {
				d = filepath.Join(base, fmt.Sprintf("own%d-%d", round, i))
			}
			wg.Add(1)
			go func() { defer wg.Done(); v, err := db.Checkpoint(d); out <- res{d, v, err} }()
		}
		wg.Wait()
		close(out)
		won := 0
		for r := range out {
			if r.dir == same && r.err != nil {
				require.ErrorIs(t, r.err, fs.ErrExist)
				continue
			}
			require.NoError(t, r.err, r.dir)
			if r.dir == same {
				won++
			}
			review58OpensAt(t, r.dir, r.v)
		}
		require.Equal(t, 1, won)
		review58NoTemp(t, base)
	}
	close(stop)
	wwg.Wait()
}

// Checkpoint racing Close: each returns nil, ErrClosed or a checkpoint
// that opens; no temporary directory is left.
func TestReview58CheckpointRacesClose(t *testing.T) {
	base := t.TempDir()
	for round := range 5 {
		db, err := Open(filepath.Join(base, fmt.Sprintf("db%d", round)), &Options{SegmentSize: 4 << 10})
		require.NoError(t, err)
		for i := range 200 {
			_, err := db.Put("r", fmt.Sprintf("k%03d", i%40), Int(int64(i)))
			require.NoError(t, err)
		}
		var wg sync.WaitGroup
		vs := make([]Version, 4)
		errs := make([]error, 4)
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				vs[i], errs[i] = db.Checkpoint(filepath.Join(base, fmt.Sprintf("cp%d-%d", round, i)))
			}()
		}
		require.NoError(t, db.Close())
		wg.Wait()
		for i, err := range errs {
			d := filepath.Join(base, fmt.Sprintf("cp%d-%d", round, i))
			if err != nil {
				require.ErrorIs(t, err, ErrClosed)
				_, serr := os.Stat(d)
				require.ErrorIs(t, serr, fs.ErrNotExist)
				continue
			}
			review58OpensAt(t, d, vs[i])
		}
		review58NoTemp(t, base)
	}
}

// dir names a place as the kernel resolves it (as mkdir, open and
// Checkpoint's own first look at dir do): "link/../cp", with link a
// symbolic link to x/y, is x/cp. Checkpoint cleans dir lexically
// (filepath.Clean) before it makes the temporary directory and renames,
// so the checkpoint lands in ./cp instead, a place its existence check
// never looked at. Before 33b6a48 the files were written through the
// uncleaned name, so this failed rather than landing elsewhere.
func TestReview58CheckpointDotDotAfterSymlink(t *testing.T) {
	base := t.TempDir()
	db := review58DB(t, filepath.Join(base, "db"), 50)
	require.NoError(t, os.MkdirAll(filepath.Join(base, "x", "y"), 0o700))
	t.Chdir(base)
	require.NoError(t, os.Symlink(filepath.Join(base, "x", "y"), "link"))

	// Where the kernel puts "link/../cp": x/cp.
	require.NoError(t, os.Mkdir("link/../probe", 0o700))
	_, err := os.Stat(filepath.Join(base, "x", "probe"))
	require.NoError(t, err, "mkdir link/../probe made x/probe")

	v, err := db.Checkpoint("link/../cp")
	if err != nil {
		return // refusing such a path is fine
	}
	_, serr := os.Stat(filepath.Join(base, "cp"))
	require.True(t, errors.Is(serr, fs.ErrNotExist), "the checkpoint (version %d) landed in %s, not where link/../cp resolves (x/cp)", v, filepath.Join(base, "cp"))
	review58OpensAt(t, filepath.Join(base, "x", "cp"), v)
}
