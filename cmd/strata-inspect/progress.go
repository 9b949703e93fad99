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

// progressBar returns a function taking (bytes done, total bytes) that
// draws a bar on e's terminal, or nil when there is none (or the output
// is JSON).
func (e *env) progressBar() func(done, total int64) {
	if e.progress == nil || e.json {
		return nil
	}
	var bar func(int64)
	return func(done, total int64) {
		if bar == nil {
			bar = e.progress(total)
		}
		bar(done)
	}
}
