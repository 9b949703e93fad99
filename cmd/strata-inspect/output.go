package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

func writeJSON(w io.Writer, x any) error {
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
