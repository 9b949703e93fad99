package recovery_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/recovery"
	"github.com/strata-kv/strata/segment"
)

// A directory holding only a MANIFEST that lists a segment: Open refuses
// it as corrupt (MissingSegment). Verify should report the same problem,
// not fail with an error that is no problem at all (strata-inspect verify
// then exits 1, "error", instead of 4, "corruption found").
func TestReviewVerifyManifestOnlyDir(t *testing.T) {
	dir := kvtest.CopyDir(t, filepath.Join(fixturesDir, "missing-listed"))
	require.NoError(t, os.Remove(filepath.Join(dir, "0000000002.seg")))

	_, openErr := recovery.Recover(vfs.Default, dir, index.New(), recovery.Options{ReadOnly: true})
	require.ErrorIs(t, openErr, kv.ErrCorrupt, "Open refuses the directory")
	var op *recovery.Problem
	require.True(t, errors.As(openErr, &op))
	require.Equal(t, recovery.MissingSegment, op.Kind)

	rep, err := recovery.Verify(vfs.Default, dir, recovery.VerifyOptions{})
	require.NoError(t, err, "Verify should report Open's problem, not fail")
	require.True(t, rep.Corrupt())
	require.Equal(t, recovery.MissingSegment, rep.Problems[0].Kind)
}

// The doc of Report.Problems: "in the order found: the manifest's first,
// then each segment's". With an orphan hint beside a bad manifest, the
// first problem Verify reports is the orphan hint (not corruption), not
// the bad manifest that Open's error names.
func TestReviewVerifyManifestProblemFirst(t *testing.T) {
	dir := kvtest.CopyDir(t, filepath.Join(fixturesDir, "bad-manifest"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, segment.HintName(9)), []byte("x"), 0o644))

	_, openErr := recovery.Recover(vfs.Default, dir, index.New(), recovery.Options{ReadOnly: true})
	var op *recovery.Problem
	require.True(t, errors.As(openErr, &op), "%v", openErr)
	require.Equal(t, recovery.BadManifest, op.Kind)

	rep, err := recovery.Verify(vfs.Default, dir, recovery.VerifyOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, rep.Problems)
	require.Equal(t, recovery.BadManifest, rep.Problems[0].Kind, "the manifest's problem first; got %v", rep.Problems[0])
}

// A hint that matches its segment but lists other entries is corruption
// (Report.Corrupt counts it, strata-inspect exits 4), the one kind Open
// cannot see: it indexes the hint without decoding the segment's
// entries, and opens. ProblemKind's doc says so.
func TestReviewWrongHintIsCorruptButOpens(t *testing.T) {
	dir := kvtest.CopyDir(t, filepath.Join(fixturesDir, "clean"))
	// A hint for segment 1 that matches it (id, salt, base, size) but
	// lists k9 where the segment holds k2.
	s, err := segment.OpenSealed(vfs.Default, filepath.Join(dir, "0000000001.seg"))
	require.NoError(t, err)
	good, err := segment.BuildHint(s, 0)
	require.NoError(t, err)
	s.Close()
	hr, err := segment.NewHintReader(good)
	require.NoError(t, err)
	entries, err := hr.All()
	require.NoError(t, err)
	for i := range entries {
		if string(entries[i].Key) == "k2" {
			entries[i].Key = []byte("k9") // still sorted: k1, k3, k9
		}
	}
	entries[1], entries[2] = entries[2], entries[1]
	require.NoError(t, segment.WriteHint(vfs.Default, dir, 1, segment.EncodeHint(hr.Header(), entries)))

	rep, err := recovery.Verify(vfs.Default, dir, recovery.VerifyOptions{Hints: true})
	require.NoError(t, err)
	require.NotEmpty(t, rep.Problems)
	require.Equal(t, recovery.WrongHint, rep.Problems[0].Kind)

	// Open does not refuse the directory.
	res, openErr := recovery.Recover(vfs.Default, dir, index.New(), recovery.Options{ReadOnly: true})
	if openErr == nil {
		res.Close()
	}
	require.True(t, rep.Corrupt(), "Verify calls a wrong hint corruption")
	require.NoError(t, openErr, "Open cannot see a wrong hint (documented)")
	require.True(t, recovery.WrongHint.Corrupt())
}
