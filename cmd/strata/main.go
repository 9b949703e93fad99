// Command strata reads and writes a Strata data directory from the shell.
//
//	strata [-dir DIR] [-run RUN] [-json] [-strict] [-wait D] COMMAND [ARGS]
//
// Commands:
//
//	put KEY VALUE       write VALUE (JSON; with -bytes, base64 bytes)
//	get KEY             print the newest version (-at V: as of version V)
//	del KEY...          delete keys
//	history KEY         print every version, newest first (-limit, -before)
//	scan [PREFIX]       list live keys and values (-limit, -cursor, -all)
//	keys [PREFIX]       list live keys
//	incr KEY [DELTA]    add DELTA (default 1) to an integer
//	stats               segments, bytes, keys, versions, last version
//	demo                write sample runs to DIR and show history and time travel
//
// Values are JSON: numbers with a point or exponent are Floats, others
// Ints; {"$bytes": "<base64>"} is Bytes and {"$float": "NaN"} (or "+Inf",
// "-Inf") a Float that JSON cannot spell. Output is human-readable unless
// -json is given, which prints one JSON document per command.
//
// Opening the directory repairs a torn write left by a crash (the last,
// unsynced writes); when it does, a line on stderr says what was cut.
// -wait waits that long for a directory another process holds.
//
// Exit status: 0 success, 1 error (I/O, locked, corrupt), 2 bad usage or
// input, 3 key not found.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// Exit statuses.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitNotFound = 3
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// env is what every command gets: the common flags and the output.
type env struct {
	dir    string
	run    kv.RunID
	json   bool
	strict bool
	wait   time.Duration
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name  string
	args  string
	help  string
	flags func(fs *flag.FlagSet) // adds the command's own flags
	run   func(e *env, args []string) error
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

// notFoundError: exit status 3.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

func (e *env) addCommon(fs *flag.FlagSet) {
	fs.StringVar(&e.dir, "dir", e.dir, "data directory")
	fs.Func("run", "run ID (namespace) (default \"default\")", func(s string) error { e.run = kv.RunID(s); return nil })
	fs.BoolVar(&e.json, "json", e.json, "print JSON for scripts")
	fs.BoolVar(&e.strict, "strict", e.strict, "Strict durability: fsync before each write returns")
	fs.DurationVar(&e.wait, "wait", e.wait, "wait up to this long for a data directory another process holds")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: strata [-dir DIR] [-run RUN] [-json] [-strict] [-wait D] COMMAND [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %-16s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nValues are JSON; {\"$bytes\": \"<base64>\"} is bytes. Flags may also follow the command.")
	fmt.Fprintln(w, "Exit status: 0 ok, 1 error, 2 bad usage or input, 3 not found.")
}

func run(args []string, stdout, stderr io.Writer) int {
	e := &env{dir: "strata-data", run: kv.DefaultRun, stdout: stdout, stderr: stderr}
	global := flag.NewFlagSet("strata", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	e.addCommon(global)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitOK
		}
		fmt.Fprintln(stderr, "strata:", err)
		usage(stderr)
		return exitUsage
	}
	if global.NArg() == 0 {
		usage(stderr)
		return exitUsage
	}
	name := global.Arg(0)
	var cmd *command
	for _, c := range commands {
		if c.name == name {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "strata: unknown command %q\n", name)
		usage(stderr)
		return exitUsage
	}
	fs := flag.NewFlagSet("strata "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	e.addCommon(fs)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: strata %s [flags] %s\n  %s\n\nflags:\n", name, cmd.args, cmd.help)
		fs.PrintDefaults()
	}
	if err := fs.Parse(global.Args()[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	err := cmd.run(e, fs.Args())
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "strata:", strings.TrimPrefix(err.Error(), "strata: "))
	var ue *cli.UsageError
	var nf *notFoundError
	switch {
	case errors.As(err, &ue), errors.Is(err, kv.ErrInvalidKey), errors.Is(err, kv.ErrInvalidRun), errors.Is(err, kv.ErrInvalidValue):
		return exitUsage
	case errors.As(err, &nf), errors.Is(err, kv.ErrNotFound):
		return exitNotFound
	}
	return exitError
}

// open opens the data directory for the command and prints to stderr
// what Open repaired (a torn tail cut), if anything.
func (e *env) open(readOnly bool) (*kv.DB, error) {
	// The report below says what Open repaired; the logger would say it
	// again.
	opts := &kv.Options{ReadOnly: readOnly, LockTimeout: e.wait, Logger: slog.New(slog.DiscardHandler)}
	if e.strict {
		opts.Durability = kv.Strict
	}
	if readOnly {
		if _, err := os.Stat(e.dir); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no data directory %s (write something first, or pass -dir)", e.dir)
		}
	}
	db, err := kv.Open(e.dir, opts)
	if err != nil {
		return nil, err
	}
	if rep := db.Recovery().String(); rep != "" {
		fmt.Fprintln(e.stderr, "strata: recovery:", rep)
	}
	return db, nil
}

// withDB runs fn on the opened database and closes it, reporting a Close
// error if fn succeeded.
func (e *env) withDB(readOnly bool, fn func(db *kv.DB) error) error {
	db, err := e.open(readOnly)
	if err != nil {
		return err
	}
	err = fn(db)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

func needArgs(args []string, min, max int, what string) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		return cli.Usagef("expected %s, got %d argument(s)", what, len(args))
	}
	return nil
}

// optionalPrefix returns the PREFIX argument of keys and scan ("" if none).
func optionalPrefix(args []string) (string, error) {
	if err := needArgs(args, 0, 1, "at most one PREFIX"); err != nil {
		return "", err
	}
	if len(args) == 1 {
		return args[0], nil
	}
	return "", nil
}
