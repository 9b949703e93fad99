package faults

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain keeps the default logger quiet: tests here open damaged and
// crashed directories on purpose, which Open logs.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
