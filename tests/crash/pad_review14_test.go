package crash

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
)

// padDir makes a directory whose run "pad" holds, under pad/w0, the
// given pad values in commit order, and nothing else.
func padDir(t *testing.T, seeds ...uint64) string {
	t.Helper()
	dir := t.TempDir()
	db, err := kv.Open(dir, nil)
	require.NoError(t, err)
	for _, s := range seeds {
		_, err := db.Put("pad", "w0", kv.Bytes(kvtest.PadValue(s, 3000)))
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())
	return dir
}

// Review 14: check compares the states two reopens find by verify's
// dump, which holds the crash keys only. In "padded" mode the pads are
// commits of their own, often the last ones (a pad precedes the op in
// flight), so a second reopen that lost (or changed) a pad, or the
// tail commit, goes unnoticed: here a directory holding one pad and an
// empty one give the same dump.
func TestPadDumpCoversPads_review14(t *testing.T) {
	var none [workers]acked
	withPad := verify(t, padDir(t, 0), none, true)
	empty := verify(t, padDir(t), none, true)
	require.NotEqual(t, withPad, empty, "verify's dump cannot tell a state with a pad commit from one without")
}

// Review 14: verify accepts pads that the writer can never have made:
// IsPadValue only checks a value against the seed in its own first 8
// bytes, and the pads' seeds are checked neither against the worker
// (seed>>32) nor against the op they precede (seed&0xffffffff must be 0,
// 4, 8, ... in version order, one pad per fourth op). With no operation
// acknowledged, worker 0 can have committed at most PadValue(0) once.
func TestPadCheckBindsValues_review14(t *testing.T) {
	if dir := os.Getenv("REVIEW14_PAD_DIR"); dir != "" {
		var none [workers]acked
		verify(t, dir, none, true)
		return
	}
	for name, seeds := range map[string][]uint64{
		"worker 1's pad under pad/w0":        {1<<32 | 0},
		"the same pad committed twice":       {0, 0},
		"a pad of op 8 with no op acked":     {8},
		"pads of ops 4 and 0, in that order": {4, 0},
	} {
		t.Run(name, func(t *testing.T) {
			dir := padDir(t, seeds...)
			cmd := exec.Command(os.Args[0], "-test.run=^TestPadCheckBindsValues_review14$", "-test.count=1")
			cmd.Env = append(os.Environ(), "REVIEW14_PAD_DIR="+dir)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "verify accepted pad/w0 = %v with nothing acknowledged:\n%s", seeds, out)
		})
	}
}
