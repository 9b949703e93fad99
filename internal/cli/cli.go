// Package cli holds the convention both of Strata's commands (strata and
// strata-inspect) follow, so that they read and behave alike: one
// dispatcher (Program), the same exit statuses, the same way to name the
// data directory (-dir DIR, before or after the command), help that
// lists the commands in a fixed order, the JSON output format and a
// progress bar for long work, drawn only on a terminal.
package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/strata-kv/strata/kv"
)

// Exit statuses of both commands.
const (
	ExitOK    = 0
	ExitError = 1 // an error: I/O, a locked directory, a file that could not be read
	ExitUsage = 2 // bad usage or bad input (nothing was written)
	// ExitNotFound: the key or version asked for does not exist.
	ExitNotFound = 3
	// ExitCorrupt: corruption found (strata-inspect), or a directory that
	// Open refuses as corrupt.
	ExitCorrupt = 4
)

// ExitHelp is the exit-status paragraph both commands print in their
// help.
const ExitHelp = "Exit status: 0 ok, 1 error, 2 bad usage or input, 3 not found, 4 corruption found."

// DefaultDir is the data directory both commands use without -dir.
const DefaultDir = "strata-data"

// ErrNotFound marks an error for something asked for that does not exist
// (exit status 3); kv.ErrNotFound does too.
var ErrNotFound = errors.New("not found")

// ErrCorruptFound is returned by a command that found (and printed)
// corruption: exit status 4, nothing more printed. kv.ErrCorrupt also
// exits 4, with its message.
var ErrCorruptFound = errors.New("corruption found")

// UsageError reports bad usage or bad input; commands exit with status 2
// for it.
type UsageError struct{ Msg string }

// Error returns the message.
func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, a ...any) error { return &UsageError{fmt.Sprintf(format, a...)} }

// ExitCode returns the exit status for a command's error (nil: ExitOK).
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue), errors.Is(err, kv.ErrInvalidKey), errors.Is(err, kv.ErrInvalidRun), errors.Is(err, kv.ErrInvalidValue):
		return ExitUsage
	case errors.Is(err, ErrNotFound), errors.Is(err, kv.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, ErrCorruptFound), errors.Is(err, kv.ErrCorrupt):
		return ExitCorrupt
	}
	return ExitError
}

// Command is one command of a Program.
type Command struct {
	Name string
	Args string // the positional arguments, for help: "KEY [DELTA]"
	Help string // one line
	// Flags adds the command's own flags (nil: none).
	Flags func(fs *flag.FlagSet)
	// Run runs the command with its positional arguments.
	Run func(args []string) error
}

// Program dispatches a command line to one of its Commands:
//
//	NAME [common flags] COMMAND [flags] [ARGS]
//
// Flags may come before or after the command and among its arguments
// ("get KEY -json"); an argument that starts with "-" but names no flag
// (a negative number) stays an argument, and "--" ends the flags.
type Program struct {
	Name string
	// Synopsis follows the name in the usage line.
	Synopsis string
	// Commands are listed by help in this order.
	Commands []*Command
	// Common adds the flags every command takes. It is called once for
	// the flags before the command and once for the command's own set, so
	// each flag's default must be its variable's current value (as in
	// fs.StringVar(&dir, "dir", dir, ...)).
	Common func(fs *flag.FlagSet)
	// Notes are printed after the command list, before the exit statuses.
	Notes          string
	Stdout, Stderr io.Writer
}

// Usage prints the usage line, the commands, the notes and the exit
// statuses to w.
func (p *Program) Usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s %s\n\ncommands:\n", p.Name, p.Synopsis)
	width := 0
	for _, c := range p.Commands {
		width = max(width, len(c.Name)+1+len(c.Args))
	}
	for _, c := range p.Commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, strings.TrimSpace(c.Name+" "+c.Args), c.Help)
	}
	fmt.Fprintln(w, "\nRun '"+p.Name+" COMMAND -h' for a command's flags.")
	if p.Notes != "" {
		fmt.Fprintln(w, p.Notes)
	}
	fmt.Fprintln(w, ExitHelp)
}

// Main runs the command args name and returns the exit status. Errors go
// to Stderr as "NAME: message", once.
func (p *Program) Main(args []string) int {
	global := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	global.SetOutput(io.Discard)
	if p.Common != nil {
		p.Common(global)
	}
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			p.Usage(p.Stdout)
			return ExitOK
		}
		fmt.Fprintf(p.Stderr, "%s: %v\n", p.Name, err)
		p.Usage(p.Stderr)
		return ExitUsage
	}
	if global.NArg() == 0 {
		p.Usage(p.Stderr)
		return ExitUsage
	}
	name, rest := global.Arg(0), global.Args()[1:]
	if name == "help" {
		if len(rest) == 0 {
			p.Usage(p.Stdout)
			return ExitOK
		}
		name, rest = rest[0], []string{"-h"} // help COMMAND: COMMAND -h
	}
	var cmd *Command
	for _, c := range p.Commands {
		if c.Name == name {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(p.Stderr, "%s: unknown command %q\n", p.Name, name)
		p.Usage(p.Stderr)
		return ExitUsage
	}
	fs := flag.NewFlagSet(p.Name+" "+name, flag.ContinueOnError)
	fs.SetOutput(p.Stderr)
	if p.Common != nil {
		p.Common(fs)
	}
	if cmd.Flags != nil {
		cmd.Flags(fs)
	}
	usage := func(w io.Writer) {
		fs.SetOutput(w)
		fmt.Fprintf(w, "usage: %s %s [flags] %s\n  %s\n\nflags:\n", p.Name, name, cmd.Args, cmd.Help)
		fs.PrintDefaults()
	}
	fs.Usage = func() {} // printed below: to stdout when asked for, else to stderr
	if err := fs.Parse(Interleave(rest, fs)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(p.Stdout)
			return ExitOK
		}
		usage(p.Stderr)
		return ExitUsage
	}
	if f := fs.Lookup("dir"); f != nil && f.Value.String() == "" {
		fmt.Fprintf(p.Stderr, "%s: -dir is empty: name a data directory (default %s)\n", p.Name, DefaultDir)
		return ExitUsage
	}
	err := cmd.Run(fs.Args())
	if err != nil && !errors.Is(err, ErrCorruptFound) {
		// The engine's errors start with "strata: ", and so may the
		// ones they wrap: said once, as the program's name.
		msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "strata: "), ": strata: ", ": ")
		fmt.Fprintf(p.Stderr, "%s: %s\n", p.Name, msg)
	}
	return ExitCode(err)
}

// Interleave moves the flags found among args to the front, so that
// "dump DIR -json" parses like "dump -json DIR". A number ("-3") and "-"
// alone are arguments, as is everything after "--"; any other argument
// that starts with "-" is a flag, and one that fs does not define makes
// Parse fail (a misspelt flag is bad usage, never a key).
func Interleave(args []string, fs *flag.FlagSet) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		f, isFlag := lookup(fs, a)
		if !isFlag {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		if f != nil && !isBool(f) && !strings.Contains(a, "=") && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	if len(pos) > 0 {
		flags = append(flags, "--") // what follows is not a flag, even if it looks like one
	}
	return append(flags, pos...)
}

// lookup says whether a is a flag ("-name", "--name", "-name=v", -h,
// or one fs does not define) and returns it if fs defines it.
func lookup(fs *flag.FlagSet, a string) (*flag.Flag, bool) {
	if len(a) < 2 || a[0] != '-' {
		return nil, false
	}
	name := strings.TrimPrefix(a[1:], "-")
	name, _, _ = strings.Cut(name, "=")
	if f := fs.Lookup(name); f != nil {
		return f, true
	}
	if _, err := strconv.ParseFloat(a, 64); err == nil {
		return nil, false // a negative number
	}
	return nil, true // help, or a flag Parse refuses
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

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

// WriteJSONLine writes x to w as JSON on one line (for streams of
// objects), without HTML escaping; a write error is dropped (the reader
// went away).
func WriteJSONLine(w io.Writer, x any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(x) == nil {
		w.Write(buf.Bytes())
	}
}

// ProgressMin is the work, in bytes, below which no progress bar is
// drawn.
const ProgressMin = 4 << 20

// Progress returns a function to call with the bytes done so far of
// total, drawing a progress bar (rate, time left, the terminal's width)
// on w if w is a terminal and total is at least ProgressMin; else a
// no-op. The bar ends its line when done reaches total.
func Progress(w io.Writer, total int64, what string) func(done int64) {
	if !IsTerminal(w) {
		return func(int64) {}
	}
	return newBar(w, total, what)
}

// newBar is Progress on any writer.
func newBar(w io.Writer, total int64, what string) func(done int64) {
	if total < ProgressMin {
		return func(int64) {}
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	return func(done int64) {
		if !bar.IsFinished() {
			_ = bar.Set64(min(done, total)) // a write error to the terminal is not the command's
		}
	}
}

// IsTerminal reports whether w is a terminal (a character device).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
