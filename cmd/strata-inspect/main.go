// Command strata-inspect reads Strata segment files directly, for
// forensics. Except for salvage -apply it never modifies a data
// directory: it opens segment files read-only, takes no lock, and so works
// while another process has the database open (it then sees the newest
// segment as far as it was written when the file was mapped). Damage is
// classified as Open classifies it: a torn tail (the last writes before a
// crash, never synced) is a warning; anything else is corruption.
//
//	strata-inspect segments DIR          table of segment files, their hint files, the manifest
//	strata-inspect dump FILE|DIR         frames and entries, values decoded (-hex: bytes too)
//	strata-inspect verify DIR            check every frame, the manifest, the hint files; exit 1 on corruption
//	strata-inspect history DIR RUN KEY   every version of a key
//	strata-inspect stats DIR             keys, versions, bytes (per segment too), runs, largest keys
//	strata-inspect salvage DIR           what RecoverSalvage would do (-apply: do it)
//
// Every command takes -json. Exit status: 0 fine, 1 corruption found, 2
// bad usage or an I/O error (a file it cannot read, say).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/strata-kv/strata/internal/cli"
)

const (
	exitOK      = 0
	exitCorrupt = 1
	exitUsage   = 2
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type env struct {
	json   bool
	stdout io.Writer
	stderr io.Writer
	// progress, if set, receives a progress reporter for long scans.
	progress func(total int64) func(done int64)
	// unreadable counts segment files that could not be read.
	unreadable int
	// checkHints asks scanAll to check each segment's hint file.
	checkHints bool
	// manifestProblems: what is wrong with the manifest (openSegments).
	manifestProblems []problem
}

type command struct {
	name, args, help string
	flags            func(fs *flag.FlagSet)
	run              func(e *env, args []string) error
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

// errCorruptFound: the command found (and printed) corruption.
var errCorruptFound = errors.New("corruption found")

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: strata-inspect COMMAND [flags] ARGS")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %-16s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nEvery command takes -json. Exit status: 0 fine, 1 corruption found, 2 bad usage or I/O error.")
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		if len(args) == 0 {
			usage(stderr)
			return exitUsage
		}
		usage(stdout)
		return exitOK
	}
	var cmd *command
	for _, c := range commands {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "strata-inspect: unknown command %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
	e := &env{stdout: stdout, stderr: stderr, progress: terminalProgress(stderr)}
	fs := flag.NewFlagSet("strata-inspect "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&e.json, "json", false, "print JSON")
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: strata-inspect %s [flags] %s\n  %s\n\nflags:\n", cmd.name, cmd.args, cmd.help)
		fs.PrintDefaults()
	}
	if err := fs.Parse(interleave(args[1:], fs)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	err := cmd.run(e, fs.Args())
	switch {
	case errors.Is(err, errCorruptFound):
		return exitCorrupt
	case err == nil && e.unreadable > 0:
		fmt.Fprintf(stderr, "strata-inspect: %d segment file(s) could not be read: the result leaves them out\n", e.unreadable)
		return exitUsage
	case err == nil:
		return exitOK
	}
	fmt.Fprintln(stderr, "strata-inspect:", err)
	var ue *cli.UsageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitUsage // I/O errors share status 2: the data could not be read
}

// interleave moves flags given after positional arguments to the front,
// so "dump DIR -json" works like "dump -json DIR".
func interleave(args []string, fs *flag.FlagSet) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			name := a[1:]
			if len(name) > 0 && name[0] == '-' {
				name = name[1:]
			}
			if f := fs.Lookup(name); f != nil && !isBool(f) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func needArgs(args []string, n int, what string) error {
	if len(args) != n {
		return cli.Usagef("expected %s, got %d argument(s)", what, len(args))
	}
	return nil
}
