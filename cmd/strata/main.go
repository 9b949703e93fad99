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
//	range [START [END]] list live keys in [START, END) (-reverse, -limit, -cursor, -all)
//	keys [PREFIX]       list live keys
//	runs                list the runs holding a live key
//	drop-run RUN        delete every live key of RUN in one version
//	fork SRC DST        make run DST a copy of SRC (-at V: as of version V)
//	changes [PREFIX]    versions committed after -after, oldest first (-follow: as they commit)
//	diff FROM TO        keys whose value differs between two versions
//	incr KEY [DELTA]    add DELTA (default 1) to an integer
//	stats               segments, bytes, keys, versions, last version
//	checkpoint DEST     a consistent copy of the database in the new directory DEST
//	compact             drop versions outside -keep-versions/-keep-for, merge small segments
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
// Exit status (the same for strata-inspect): 0 success, 1 error (I/O, a
// locked directory), 2 bad usage or input, 3 key not found, 4 the
// directory is corrupt.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// env is what every command gets: the common flags and the output.
type env struct {
	dir    string
	run    kv.RunID
	json   bool
	strict bool
	wait   time.Duration
	// retention is what Open is given (the compact command's flags).
	retention kv.Retention
	// noBackground opens with background compaction off (the compact
	// command: its Compact does the work, and reports all of it).
	noBackground bool
	stdout       io.Writer
	stderr       io.Writer
}

// run runs the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	e := &env{dir: cli.DefaultDir, run: kv.DefaultRun, stdout: stdout, stderr: stderr}
	p := &cli.Program{
		Name:     "strata",
		Synopsis: "[-dir DIR] [-run RUN] [-json] [-strict] [-wait D] COMMAND [ARGS]",
		Commands: e.commands(),
		Common:   e.commonFlags,
		Notes:    "Values are JSON; {\"$bytes\": \"<base64>\"} is bytes. Flags may also follow the command.",
		Stdout:   stdout,
		Stderr:   stderr,
	}
	return p.Main(args)
}

// commands lists the commands, in the order help shows them.
func (e *env) commands() []*cli.Command {
	put, get, del := &putCmd{env: e}, &getCmd{env: e}, &delCmd{env: e}
	incr, history := &incrCmd{env: e}, &historyCmd{env: e}
	scan, keys, stats, demo := &scanCmd{env: e}, &keysCmd{env: e}, &statsCmd{env: e}, &demoCmd{env: e}
	rng, runs, checkpoint := &rangeCmd{env: e}, &runsCmd{env: e}, &checkpointCmd{env: e}
	changes, diff := &changesCmd{env: e}, &diffCmd{env: e}
	dropRun, fork := &dropRunCmd{env: e}, &forkCmd{env: e}
	compact := &compactCmd{env: e}
	return []*cli.Command{
		{Name: "put", Args: "KEY VALUE", Help: "write VALUE (JSON, or base64 with -bytes) as a new version of KEY", Flags: put.flags, Run: put.run},
		{Name: "get", Args: "KEY", Help: "print the newest version of KEY (with -at V, the one current at version V)", Flags: get.flags, Run: get.run},
		{Name: "del", Args: "KEY...", Help: "delete keys (one version for all of them)", Run: del.run},
		{Name: "incr", Args: "KEY [DELTA]", Help: "add DELTA (default 1) to an integer; an absent key counts as 0", Run: incr.run},
		{Name: "history", Args: "KEY", Help: "print every version of KEY, newest first, deletions included", Flags: history.flags, Run: history.run},
		{Name: "scan", Args: "[PREFIX]", Help: "list live keys with their newest values, a page at a time", Flags: scan.flags, Run: scan.run},
		{Name: "range", Args: "[START [END]]", Help: "list live keys in [START, END) with their newest values, a page at a time (-reverse: descending)", Flags: rng.flags, Run: rng.run},
		{Name: "keys", Args: "[PREFIX]", Help: "list live keys", Flags: keys.flags, Run: keys.run},
		{Name: "runs", Help: "list the runs that hold a live key", Run: runs.run},
		{Name: "drop-run", Args: "RUN", Help: "delete every live key of RUN in one version", Run: dropRun.run},
		{Name: "fork", Args: "SRC DST", Help: "make run DST a copy of run SRC (as of -at V); DST must hold no live key", Flags: fork.flags, Run: fork.run},
		{Name: "changes", Args: "[PREFIX]", Help: "print the versions committed to the run after -after, oldest first (-follow: keep printing as they commit)", Flags: changes.flags, Run: changes.run},
		{Name: "diff", Args: "FROM TO", Help: "print the keys whose value differs between versions FROM and TO, with their version at TO", Run: diff.run},
		{Name: "stats", Help: "print the database's segments, bytes, keys, versions and last version", Run: stats.run},
		{Name: "checkpoint", Args: "DEST", Help: "write a consistent copy of the database, as of now, to the new directory DEST", Run: checkpoint.run},
		{Name: "compact", Help: "rewrite the segments: drop the versions -keep-versions N and -keep-for D let go, and merge runs of 16 or more small segments", Flags: compact.flags, Run: compact.run},
		{Name: "demo", Help: "write two sample agent runs to DIR, then show a history and a time-travel read", Run: demo.run},
	}
}

// commonFlags adds the flags every command takes.
func (e *env) commonFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.dir, "dir", e.dir, "data directory")
	fs.Func("run", "run ID (namespace) (default \"default\")", func(s string) error { e.run = kv.RunID(s); return nil })
	fs.BoolVar(&e.json, "json", e.json, "print JSON for scripts")
	fs.BoolVar(&e.strict, "strict", e.strict, "Strict durability: fsync before each write returns")
	fs.Var((*waitFlag)(&e.wait), "wait", "wait up to this long for a data directory another process holds")
}

// waitFlag is -wait: a duration, refused when negative (bad usage, not
// an error of Open's).
type waitFlag time.Duration

// String returns the duration.
func (w *waitFlag) String() string { return time.Duration(*w).String() }

// Set parses a duration of at least 0.
func (w *waitFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration (e.g. 5s)")
	}
	if d < 0 {
		return errors.New("negative")
	}
	*w = waitFlag(d)
	return nil
}

// open opens the data directory for the command and prints to stderr
// what Open repaired (a torn tail cut), if anything.
func (e *env) open(readOnly bool) (*kv.DB, error) {
	// The report below says what Open repaired; the logger would say it
	// again.
	opts := &kv.Options{ReadOnly: readOnly, LockTimeout: e.wait, Logger: slog.New(slog.DiscardHandler), Retention: e.retention}
	if e.strict {
		opts.Durability = kv.Strict
	}
	if e.noBackground {
		opts.CompactAt = -1
	}
	if readOnly {
		if err := e.mustHoldDB(); err != nil {
			return nil, err
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

// mustExist fails unless the data directory exists: for the commands
// that must not create an empty database where a name was mistyped.
func (e *env) mustExist() error {
	if _, err := os.Stat(e.dir); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no data directory %s (write something first, or pass -dir)", e.dir)
	}
	return nil
}

// mustHoldDB fails unless the data directory exists and holds a
// database (a MANIFEST or a segment): a read-only command must not leave
// a LOCK file in a directory that is not a database's.
func (e *env) mustHoldDB() error {
	if err := e.mustExist(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(e.dir, "MANIFEST")); err == nil {
		return nil
	}
	names, _ := os.ReadDir(e.dir) // not filepath.Glob: the directory's name may hold [ or *
	for _, n := range names {
		if strings.HasSuffix(n.Name(), ".seg") {
			return nil
		}
	}
	return fmt.Errorf("%s holds no Strata database (no MANIFEST, no segment files): write something first, or pass -dir", e.dir)
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

// nonNegative refuses a negative value of the flag name (bad usage).
func nonNegative(name string, v int) error {
	if v < 0 {
		return cli.Usagef("%s must not be negative, got %d", name, v)
	}
	return nil
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
