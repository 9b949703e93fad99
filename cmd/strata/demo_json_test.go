package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// -json prints one JSON document per command, demo included.
func TestDemoJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := strata(t, "-dir", dir, "-json", "demo")
	require.Equal(t, 0, r.code, r.stderr)
	var doc struct {
		Dir        string   `json:"dir"`
		Runs       []string `json:"runs"`
		Version    uint64   `json:"version"`
		TimeTravel uint64   `json:"time_travel_version"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), "stdout is one JSON document: %q", r.stdout)
	require.Equal(t, []string{"agent-alpha", "agent-beta"}, doc.Runs)
	require.Positive(t, doc.TimeTravel)
	require.Greater(t, doc.Version, doc.TimeTravel)
}
