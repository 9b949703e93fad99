// Command bench compares Strata with Badger v4, Pebble v2 and bbolt on the
// same workloads and prints one markdown table.
//
//	cd bench && go run .                 # full run, about 4 minutes
//	go run . -scale 0.01 -json out.json  # quick run, raw numbers to out.json
//
// Each engine runs in its own child process (this binary re-executed with
// a hidden -child flag) in a fresh temporary directory, so that peak RSS
// is per engine and no engine's caches or goroutines disturb another's.
// See README.md for the workloads and the notes on emulations.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ChildEnv is set in every child's environment. A test binary (whose own
// flags would reject -child) checks it in TestMain to run as a child.
const ChildEnv = "STRATA_BENCH_CHILD"

// hiddenFlags are the parent-to-child flags that -help does not list.
var hiddenFlags = map[string]bool{"child": true, "dir": true}

// main runs the command (see run) and exits with its code.
func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command-line flags.
type options struct {
	scale     float64
	jsonFile  string
	engines   string
	readCap   time.Duration
	syncCap   time.Duration
	probe     time.Duration
	tmpDir    string
	seed      uint64
	childName string
	childDir  string
	// childTimeout stops a child that runs longer (0: childTimeout's
	// default).
	childTimeout time.Duration
}

// run is the whole command: args are the flags, the table goes to stdout
// and progress to stderr. It returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Float64Var(&o.scale, "scale", 1, "shrink (or grow) every data set: 1 = 1M keys for W1 and 100k keys for W3")
	fs.StringVar(&o.jsonFile, "json", "", "also write the raw numbers to this `file` as JSON")
	fs.StringVar(&o.engines, "engines", strings.Join(engineNames, ","), "comma-separated engines to run")
	fs.DurationVar(&o.readCap, "duration", 3*time.Second, "time cap of each read workload (W2, W3, W4)")
	fs.DurationVar(&o.syncCap, "sync-duration", 5*time.Second, "time cap of W5")
	fs.DurationVar(&o.probe, "fsync-probe", 2*time.Second, "how long to measure the disk's serial fsync rate (0 = skip)")
	fs.StringVar(&o.tmpDir, "tmpdir", "", "where the engines' temporary directories go (default: the system's)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of every random choice")
	fs.DurationVar(&o.childTimeout, "child-timeout", 0, "stop an engine's child that runs longer, as hung (0 = 30s + 5m x scale + 12 x -duration + 3 x -sync-duration)")
	fs.StringVar(&o.childName, "child", "", "internal: run the workloads of this engine and print JSON")
	fs.StringVar(&o.childDir, "dir", "", "internal: the child's directory")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run . [flags]\n\nRuns the Strata comparison benchmark and prints a markdown table.\n\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			if hiddenFlags[f.Name] {
				return
			}
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(stderr, "  -%s %s\n    \t%s", f.Name, name, usage)
			if f.DefValue != "" && f.DefValue != "0" {
				fmt.Fprintf(stderr, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(stderr)
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if o.scale <= 0 || o.readCap <= 0 || o.syncCap <= 0 {
		fmt.Fprintln(stderr, "bench: -scale, -duration and -sync-duration must be positive")
		return 2
	}
	cfg := newConfig(o.scale, o.readCap, o.syncCap, o.seed)
	if o.childName != "" {
		return childMain(o.childName, o.childDir, cfg, stdout, stderr)
	}
	names, err := parseEngines(o.engines)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	rep, err := runParent(o, cfg, names, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if o.jsonFile != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(o.jsonFile, append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "bench: writing %s: %v\n", o.jsonFile, err)
			return 1
		}
	}
	fmt.Fprint(stdout, renderTable(rep))
	for _, r := range rep.Engines {
		if r.Error != "" {
			return 1
		}
	}
	return 0
}

// childMain runs one engine's workloads and writes its ChildResult as
// JSON to stdout.
func childMain(name, dir string, cfg Config, stdout, stderr io.Writer) int {
	if _, err := newEngine(name); err != nil {
		fmt.Fprintf(stderr, "bench child: %v\n", err)
		return 2
	}
	if dir == "" {
		fmt.Fprintln(stderr, "bench child: -dir is required")
		return 2
	}
	if stdout == io.Writer(os.Stdout) {
		// Whatever a library prints must not corrupt the JSON on stdout.
		os.Stdout = os.Stderr
	}
	res := runChild(name, dir, cfg, stderr)
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "bench child: %v\n", err)
		return 1
	}
	if res.Error != "" {
		return 1
	}
	return 0
}

// Report is everything a run measured; -json writes it.
type Report struct {
	Scale       float64        `json:"scale"`
	Keys        int            `json:"keys"`
	HistoryKeys int            `json:"history_keys"`
	ReadCapS    float64        `json:"read_cap_s"`
	SyncCapS    float64        `json:"sync_cap_s"`
	FsyncPerSec float64        `json:"fsync_per_s,omitempty"` // serial write(100 B)+fsync rate of the disk
	Engines     []*ChildResult `json:"engines"`
	WallS       float64        `json:"wall_s"`
	Started     time.Time      `json:"started"`
}

// runParent probes the disk, runs one child per engine in turn and
// gathers their results.
func runParent(o options, cfg Config, names []string, stderr io.Writer) (*Report, error) {
	start := time.Now()
	rep := &Report{
		Scale: o.scale, Keys: cfg.Keys, HistoryKeys: cfg.HistoryKeys,
		ReadCapS: cfg.ReadCap.Seconds(), SyncCapS: cfg.SyncCap.Seconds(), Started: start.UTC(),
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if o.probe > 0 {
		rate, err := probeFsync(o.tmpDir, o.probe)
		if err != nil {
			return nil, fmt.Errorf("fsync probe: %w", err)
		}
		rep.FsyncPerSec = rate
		fmt.Fprintf(stderr, "disk: %.0f serial fsyncs/s (write 100 B + fsync, %.2f ms each)\n", rate, 1000/rate)
	}
	fmt.Fprintf(stderr, "%d keys, W3 %d keys x %d versions, read cap %v, W5 cap %v\n",
		cfg.Keys, cfg.HistoryKeys, HistoryVersions, cfg.ReadCap, cfg.SyncCap)
	// Ctrl-C or a SIGTERM stops the child running (and so frees its
	// directory, which runChildProcess removes) rather than leave it
	// running, orphaned, in a directory no one removes (review 52).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for i, name := range names {
		fmt.Fprintf(stderr, "== %s (%d/%d)\n", name, i+1, len(names))
		res := runChildContext(ctx, exe, name, o, stderr)
		if ctx.Err() != nil {
			return nil, errors.New("interrupted: the child is stopped and its directory removed")
		}
		rep.Engines = append(rep.Engines, res)
	}
	rep.WallS = time.Since(start).Seconds()
	return rep, nil
}

// childTimeout is how long a child may run before it is stopped as hung:
// far more than its workloads take (each read workload stops at its cap,
// the fills and loads grow with the scale: about a minute a child at
// scale 1 here), so that only a child that does not end meets it.
func childTimeout(o options) time.Duration {
	if o.childTimeout > 0 {
		return o.childTimeout
	}
	return 30*time.Second + time.Duration(o.scale*float64(5*time.Minute)) + 12*o.readCap + 3*o.syncCap
}

// runChildProcess runs one engine's child in a fresh temporary directory,
// passing its progress through to stderr, and returns its result with the
// child's peak RSS added.
func runChildProcess(exe, name string, o options, stderr io.Writer) *ChildResult {
	return runChildContext(context.Background(), exe, name, o, stderr)
}

// runChildContext is runChildProcess, stopping the child when ctx ends
// or when it runs past childTimeout.
func runChildContext(ctx context.Context, exe, name string, o options, stderr io.Writer) *ChildResult {
	timeout := childTimeout(o)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(err error) *ChildResult {
		fmt.Fprintf(stderr, "[%s] FAILED: %v\n", name, err)
		return &ChildResult{Engine: name, Metrics: map[string]float64{}, Error: err.Error()}
	}
	dir, err := os.MkdirTemp(o.tmpDir, "strata-bench-"+name+"-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, exe,
		"-child", name, "-dir", dir,
		"-scale", strconv.FormatFloat(o.scale, 'g', -1, 64),
		"-duration", o.readCap.String(), "-sync-duration", o.syncCap.String(),
		"-seed", strconv.FormatUint(o.seed, 10))
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	cmd.WaitDelay = 5 * time.Second // a killed child's pipes, if something else holds them
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = stderr
	start := time.Now()
	runErr := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fail(fmt.Errorf("no result after %v: stopped as hung (-child-timeout)", timeout))
	}
	if ctx.Err() != nil {
		return fail(fmt.Errorf("stopped: %w", context.Cause(ctx)))
	}
	var res ChildResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		if runErr != nil {
			return fail(runErr)
		}
		return fail(fmt.Errorf("reading the child's result: %w", err))
	}
	if res.Metrics == nil {
		res.Metrics = map[string]float64{}
	}
	if _, ok := res.Metrics[MetricRSS]; !ok {
		// The child measures its own peak where it can (selfPeakRSS):
		// its rusage may start from the parent's peak.
		if rss := maxRSS(cmd.ProcessState); rss > 0 {
			res.Metrics[MetricRSS] = float64(rss)
		}
	}
	if runErr != nil && res.Error == "" {
		res.Error = runErr.Error()
	}
	fmt.Fprintf(stderr, "[%s] done in %.1fs, peak RSS %.0f MiB\n", name, time.Since(start).Seconds(), res.Metrics[MetricRSS]/(1<<20))
	return &res
}

// probeFsync measures the disk's serial fsync rate: it appends 100 bytes
// to one file and fsyncs it, in a loop, for d.
func probeFsync(dir string, d time.Duration) (float64, error) {
	f, err := os.CreateTemp(dir, "strata-bench-fsync-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 100)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
