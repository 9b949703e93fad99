package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The "more:" hint of range and scan repeats the arguments verbatim; an
// argument holding '%' must not be taken as a format verb.
func TestReview2PagingHintWithPercent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, k := range []string{"a%d1", "a%d2", "a%d3"} {
		require.Equal(t, 0, strata(t, "-dir", dir, "put", k, "1").code)
	}
	r := strata(t, "-dir", dir, "range", "-limit", "1", "a%d", "b")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "%!", "range hint")
	r = strata(t, "-dir", dir, "scan", "-limit", "1", "a%d")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "%!", "scan hint")
}

// checkpoint reads a database: with -dir naming none, it fails rather
// than creating an empty database there and copying that.
func TestReview2CheckpointMissingSource(t *testing.T) {
	src := filepath.Join(t.TempDir(), "typo")
	dst := filepath.Join(t.TempDir(), "cp")
	r := strata(t, "-dir", src, "checkpoint", dst)
	_, statErr := os.Stat(src)
	require.NotEqual(t, 0, r.code, "checkpoint of a missing database succeeded: stdout %q; source created: %v", strings.TrimSpace(r.stdout), statErr == nil)
}
