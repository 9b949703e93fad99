// Command strata-inspect reads Strata segment files directly, for
// forensics. Except for salvage -apply it never modifies a data
// directory: it opens segment files read-only, takes no lock, and so works
// while another process has the database open (it then sees the newest
// segment as far as it was written when the file was mapped). Damage is
// classified as Open classifies it: a torn tail (the last writes before a
// crash, never synced) is a warning; anything else is corruption.
//
//	strata-inspect verify [DIR]             check every frame, the manifest, the hint files; exit 4 on corruption
//	strata-inspect segments [DIR]           table of segment files, their hint files, the manifest
//	strata-inspect stats [DIR]              keys, versions, bytes (per segment too), runs, largest keys
//	strata-inspect history [DIR] RUN KEY    every version of a key
//	strata-inspect dump [FILE|DIR]          frames and entries, values decoded (-hex: bytes too)
//	strata-inspect salvage [DIR]            what RecoverSalvage would do (-apply: do it)
//
// The directory is named as strata names it, with -dir (default
// strata-data), or as the command's first argument. dump's FILE may be
// any segment file, under any name: a copy, or one a salvage moved aside
// (NAME.seg.damaged-UNIX), to see the damaged bytes once the directory
// holds only the intact ones. Beside a writer, a command reads the
// directory's listing and manifest as one state (a segment rolled in
// between is not taken for a missing one). Every command takes
// -json. Exit status (the same convention as strata's): 0 fine, 1 an
// error (I/O, a file it cannot read), 2 bad usage, 4 corruption found (3,
// not found, is strata's alone).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/strata-kv/strata/internal/cli"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type env struct {
	dir    string
	json   bool
	stdout io.Writer
	stderr io.Writer
	// unreadable counts segment files that could not be read.
	unreadable int
	// checkHints asks scanAll to check each segment's hint file.
	checkHints bool
}

// run runs the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	e := &env{dir: cli.DefaultDir, stdout: stdout, stderr: stderr}
	p := &cli.Program{
		Name:     "strata-inspect",
		Synopsis: "[-dir DIR] [-json] COMMAND [flags] [ARGS]",
		Commands: e.commands(),
		Common:   e.commonFlags,
		Notes:    "DIR may also be given as the command's first argument (verify DIR). Every command takes -json.",
		Stdout:   stdout,
		Stderr:   stderr,
	}
	code := p.Main(args)
	if code == cli.ExitOK && e.unreadable > 0 {
		fmt.Fprintf(stderr, "strata-inspect: %d segment file(s) could not be read: the result leaves them out\n", e.unreadable)
		return cli.ExitError
	}
	return code
}

// commands lists the commands, in the order help shows them.
func (e *env) commands() []*cli.Command {
	verify, segments, stats := &verifyCmd{env: e}, &segmentsCmd{env: e}, &statsCmd{env: e}
	history, dump, salvage := &historyCmd{env: e}, &dumpCmd{env: e}, &salvageCmd{env: e}
	return []*cli.Command{
		{Name: "verify", Args: "[DIR]", Help: "check every frame, value and version as Open does, the manifest and the hint files; warn of a torn tail; exit 4 on corruption", Run: verify.run},
		{Name: "segments", Args: "[DIR]", Help: "table of segment files: frames, entries, versions, compression, state, hint file", Run: segments.run},
		{Name: "stats", Args: "[DIR]", Help: "keys, versions, live/history/dead bytes overall and per segment, per-run counts, the largest keys", Flags: stats.flags, Run: stats.run},
		{Name: "history", Args: "[DIR] RUN KEY", Help: "every version of a key, newest first, read straight from the segments", Run: history.run},
		{Name: "dump", Args: "[FILE|DIR]", Help: "print frames and entries with offsets, versions, codecs and decoded values", Flags: dump.flags, Run: dump.run},
		{Name: "salvage", Args: "[DIR]", Help: "say how Open with RecoverSalvage would repair damage (dry run); -apply does it", Flags: salvage.flags, Run: salvage.run},
	}
}

// commonFlags adds the flags every command takes.
func (e *env) commonFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.dir, "dir", e.dir, "data directory")
	fs.BoolVar(&e.json, "json", e.json, "print JSON")
}

// withDir returns args with the data directory first: the -dir flag's,
// or the first argument when there is one more than the n the command
// takes (the form "verify DIR").
func (e *env) withDir(args []string, n int, what string) ([]string, error) {
	switch len(args) {
	case n:
		return append([]string{e.dir}, args...), nil
	case n + 1:
		return args, nil
	}
	return nil, cli.Usagef("expected %s, got %d argument(s)", what, len(args))
}
