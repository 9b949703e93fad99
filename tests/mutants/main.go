// Command mutants checks that the tests catch what they claim to: it
// applies each mutation listed in mutants.txt (a small, plausible change
// to a critical line), runs the tests, restores the file and prints
// whether the tests caught it. Run it from the repository's root:
//
//	go run ./tests/mutants            # every mutation (several minutes)
//	go run ./tests/mutants -only 3    # one, by number
//	go run ./tests/mutants -check     # only that each still applies (CI)
//
// A mutation is a block of mutants.txt:
//
//	file: kv/validate.go
//	why: MaxValueBytes off by one
//	test: -race ./index    (optional: what to run; default ./...)
//	- old line(s), exactly as in the file (once)
//	+ new line(s)
//
// with blocks separated by a line "---". The exit status is 1 if any
// mutation survived.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type mutation struct {
	file, why string
	old, new  []string
	test      []string // go test arguments; default -count=1 ./...
}

func main() {
	list := flag.String("list", "tests/mutants/mutants.txt", "the mutation list")
	only := flag.Int("only", 0, "run only mutation N (1-based)")
	timeout := flag.Duration("timeout", 5*time.Minute, "time limit of one test run (a mutant that hangs the tests counts as caught)")
	check := flag.Bool("check", false, "only check that every mutation still applies (its old lines are in its file, once): fast, for CI")
	flag.Parse()
	ms, err := parse(*list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(2)
	}
	if *check {
		bad := 0
		for i, m := range ms {
			src, err := os.ReadFile(m.file)
			if err == nil {
				_, _, err = find(string(src), m.old)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "mutants: #%d %s (%s): %v\n", i+1, m.file, m.why, err)
				bad++
			}
		}
		fmt.Printf("%d of %d mutations apply\n", len(ms)-bad, len(ms))
		if bad > 0 {
			os.Exit(2)
		}
		return
	}
	// Ctrl-C stops the tests, restores the file and ends the run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	survived, ran := 0, 0
	for i, m := range ms {
		if *only != 0 && *only != i+1 {
			continue
		}
		ran++
		caught, err := run(ctx, m, *timeout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mutants: #%d %s: %v\n", i+1, m.file, err)
			stop()
			os.Exit(2)
		}
		verdict := "caught"
		if !caught {
			verdict = "SURVIVED"
			survived++
		}
		fmt.Printf("#%-2d %-8s %s: %s\n", i+1, verdict, m.file, m.why)
	}
	fmt.Printf("%d of %d mutations caught\n", ran-survived, ran)
	if survived > 0 {
		os.Exit(1)
	}
}

// parse reads the mutation list.
func parse(path string) ([]mutation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []mutation
	cur := mutation{}
	flush := func() error {
		if cur.file == "" && len(cur.old) == 0 {
			return nil
		}
		if cur.file == "" || len(cur.old) == 0 {
			return fmt.Errorf("%s: a block without file or old lines (mutation %d)", path, len(ms)+1)
		}
		ms = append(ms, cur)
		cur = mutation{}
		return nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "---":
			if err := flush(); err != nil {
				return nil, err
			}
		case strings.HasPrefix(line, "file: "):
			cur.file = strings.TrimPrefix(line, "file: ")
		case strings.HasPrefix(line, "why: "):
			cur.why = strings.TrimPrefix(line, "why: ")
		case strings.HasPrefix(line, "test: "):
			if strings.ContainsAny(line, `'"`) {
				// No shell: a quoted -run pattern would match nothing,
				// and every mutation would survive unnoticed.
				return nil, fmt.Errorf("%s: %q: test arguments are split on spaces, quotes are not removed", path, line)
			}
			cur.test = strings.Fields(strings.TrimPrefix(line, "test: "))
		case strings.HasPrefix(line, "- "):
			cur.old = append(cur.old, strings.TrimPrefix(line, "- "))
		case strings.HasPrefix(line, "+ "), line == "+":
			cur.new = append(cur.new, strings.TrimPrefix(strings.TrimPrefix(line, "+"), " "))
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
		default:
			return nil, fmt.Errorf("%s: cannot read line %q", path, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return ms, flush()
}

// run applies m, runs the tests and restores the file; caught reports
// whether the tests failed. A mutation that does not compile is an error
// (a broken list), not a catch.
func run(ctx context.Context, m mutation, timeout time.Duration) (caught bool, err error) {
	orig, err := os.ReadFile(m.file)
	if err != nil {
		return false, err
	}
	// Lines are matched without their leading tabs, which the list
	// cannot show well; the replacement keeps the first line's indent.
	src := string(orig)
	old := strings.Join(m.old, "\n")
	idx, indent, err := find(src, m.old)
	if err != nil {
		return false, fmt.Errorf("%w (looking for %q)", err, old)
	}
	end := idx
	for range m.old {
		nl := strings.IndexByte(src[end:], '\n')
		if nl < 0 {
			end = len(src)
			break
		}
		end += nl + 1
	}
	var b strings.Builder
	b.WriteString(src[:idx])
	for _, l := range m.new {
		b.WriteString(indent + l + "\n")
	}
	b.WriteString(src[end:])
	if err := os.WriteFile(m.file, []byte(b.String()), 0o644); err != nil {
		return false, err
	}
	defer os.WriteFile(m.file, orig, 0o644)
	if out, err := exec.CommandContext(ctx, "go", "vet", "./"+filepath.Dir(m.file)).CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, fmt.Errorf("the mutated code does not compile or vet:\n%s", out)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := m.test
	if args == nil {
		args = []string{"./..."}
	}
	cmd := exec.CommandContext(tctx, "go", append([]string{"test", "-count=1"}, args...)...)
	killGroup(cmd) // a timeout or Ctrl-C ends the test binaries too, not only go
	err = cmd.Run()
	if ctx.Err() != nil {
		return false, ctx.Err() // interrupted: the deferred write restores the file
	}
	if tctx.Err() != nil {
		return true, nil // the tests hung on it: caught, by the timeout
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return true, nil
	}
	return false, err
}

// find returns where the lines old start in src (matched without leading
// whitespace, once exactly) and the first line's indentation.
func find(src string, old []string) (int, string, error) {
	lines := strings.SplitAfter(src, "\n")
	found, at, indent := 0, 0, ""
	off := 0
	for i := range lines {
		if i+len(old) <= len(lines) && matches(lines[i:i+len(old)], old) {
			found++
			at = off
			indent = lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
		}
		off += len(lines[i])
	}
	switch found {
	case 0:
		return 0, "", errors.New("the old lines are not in the file")
	case 1:
		return at, indent, nil
	}
	return 0, "", fmt.Errorf("the old lines are in the file %d times", found)
}

func matches(lines, old []string) bool {
	for i, l := range lines {
		if strings.TrimSpace(l) != strings.TrimSpace(old[i]) {
			return false
		}
	}
	return true
}
