// Package cli holds what Strata's commands (strata, strata-inspect) share:
// the error type for bad usage and the JSON output format.
package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// UsageError reports bad usage or bad input; commands exit with status 2
// for it.
type UsageError struct{ Msg string }

// Error returns the message.
func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, a ...any) error { return &UsageError{fmt.Sprintf(format, a...)} }

// WriteJSON writes x to w as indented JSON without HTML escaping, in one
// write.
func WriteJSON(w io.Writer, x any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(x); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
