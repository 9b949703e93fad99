package kv

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain keeps the default logger quiet: many tests open damaged
// directories on purpose. Tests of what is logged pass their own Logger.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
