package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressMin is the data size below which no progress bar is drawn.
const progressMin = 4 << 20

// terminalProgress returns a progress-bar maker drawing on w, or nil when
// w is not a terminal.
func terminalProgress(w io.Writer) func(total int64) func(done int64) {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(total int64) func(int64) { return newBar(w, total) }
}

// newBar returns a function to call with the bytes done so far; it redraws
// at most every 100ms and ends the line when done reaches total.
func newBar(w io.Writer, total int64) func(int64) {
	if total < progressMin {
		return func(int64) {}
	}
	var last time.Time
	finished := false
	return func(done int64) {
		if finished || (done < total && time.Since(last) < 100*time.Millisecond) {
			return
		}
		last = time.Now()
		const width = 30
		n := int(done * width / total)
		fmt.Fprintf(w, "\r%3d%% [%s%s] %.1f/%.1f MiB", done*100/total, strings.Repeat("#", n), strings.Repeat(" ", width-n),
			float64(done)/(1<<20), float64(total)/(1<<20))
		if done >= total {
			fmt.Fprintln(w)
			finished = true
		}
	}
}

// progressFor returns a function taking (segment base, offset) for a scan
// of total bytes: a no-op unless e has a terminal.
func (e *env) progressFor(total int64) func(base, off int64) {
	if e.progress == nil || e.json {
		return func(int64, int64) {}
	}
	bar := e.progress(total)
	return func(base, off int64) { bar(base + off) }
}
