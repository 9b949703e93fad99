package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

func TestInterleave(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Bool("json", false, "")
	fs.Int("limit", 0, "")
	for _, c := range []struct{ in, want string }{
		{"k -json", "-json -- k"},
		{"k -limit 5 p", "-limit 5 -- k p"},
		{"k --limit=5", "--limit=5 -- k"},
		{"k -3", "-- k -3"},          // a negative number is an argument
		{"k -- -json", "-- k -json"}, // nothing after -- is a flag
		{"-h", "-h"},                 // help
		{"", ""},
	} {
		got := strings.Join(Interleave(strings.Fields(c.in), fs), " ")
		require.Equal(t, c.want, got, "%q", c.in)
	}
}

func TestExitCode(t *testing.T) {
	for err, want := range map[error]int{
		nil:                                   ExitOK,
		errors.New("disk on fire"):            ExitError,
		Usagef("bad"):                         ExitUsage,
		kv.ErrInvalidKey:                      ExitUsage,
		fmt.Errorf("k: %w", ErrNotFound):      ExitNotFound,
		kv.ErrNotFound:                        ExitNotFound,
		ErrCorruptFound:                       ExitCorrupt,
		fmt.Errorf("open: %w", kv.ErrCorrupt): ExitCorrupt,
	} {
		require.Equal(t, want, ExitCode(err), "%v", err)
	}
}

func TestProgram(t *testing.T) {
	var out, errb bytes.Buffer
	var dir string
	var n int
	var got []string
	p := &Program{
		Name: "tool", Synopsis: "[-dir DIR] COMMAND", Stdout: &out, Stderr: &errb,
		Common: func(fs *flag.FlagSet) { fs.StringVar(&dir, "dir", dir, "data directory") },
		Commands: []*Command{
			{Name: "zeta", Help: "listed first", Run: func([]string) error { return nil }},
			{Name: "alpha", Args: "N", Help: "listed second",
				Flags: func(fs *flag.FlagSet) { fs.IntVar(&n, "n", 0, "") },
				Run:   func(args []string) error { got = args; return nil }},
			{Name: "fail", Run: func([]string) error { return fmt.Errorf("strata: k: %w", kv.ErrNotFound) }},
			{Name: "corrupt", Run: func([]string) error { return ErrCorruptFound }},
		},
	}
	run := func(args ...string) int {
		out.Reset()
		errb.Reset()
		return p.Main(args)
	}
	require.Equal(t, ExitOK, run("help"))
	require.Less(t, strings.Index(out.String(), "zeta"), strings.Index(out.String(), "alpha"), "help keeps the listed order")
	require.Contains(t, out.String(), ExitHelp)
	require.Equal(t, ExitOK, run("-h"))
	require.Equal(t, ExitUsage, run())
	require.Equal(t, ExitUsage, run("nosuch"))
	require.Contains(t, errb.String(), `unknown command "nosuch"`)
	require.Equal(t, ExitOK, run("alpha", "-h"))

	got = nil
	require.Equal(t, ExitUsage, run("alpha", "x"), "an empty -dir is bad usage")
	require.Nil(t, got, "the command did not run")
	require.Contains(t, errb.String(), "-dir is empty")
	dir = "default"
	require.Equal(t, ExitUsage, run("-dir", "", "alpha", "x"))
	require.Equal(t, ExitUsage, run("alpha", "x", "-dir="))
	require.Nil(t, got)

	dir = "default"
	require.Equal(t, ExitOK, run("alpha", "-5", "-dir", "d1", "-n", "3"))
	require.Equal(t, []string{"-5"}, got)
	require.Equal(t, "d1", dir)
	require.Equal(t, 3, n)
	require.Equal(t, ExitOK, run("-dir", "d2", "alpha", "x"))
	require.Equal(t, "d2", dir, "-dir before the command")
	require.Equal(t, ExitUsage, run("alpha", "-n", "x"))

	require.Equal(t, ExitNotFound, run("fail"))
	require.Equal(t, "tool: k: key not found\n", errb.String(), "one line, the program's name once, the engine's prefix of a wrapped error dropped")
	require.Equal(t, ExitCorrupt, run("corrupt"))
	require.Empty(t, errb.String(), "the command printed what it found")
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	bar := newBar(&b, 10<<20, "reading")
	bar(0)
	bar(5 << 20)
	bar(10 << 20)
	bar(10 << 20)
	require.Contains(t, b.String(), "100%")
	require.Contains(t, b.String(), "reading")
	require.Equal(t, 1, strings.Count(b.String(), "\n"), "one final newline")
	b.Reset()
	newBar(&b, 1<<20, "small")(1 << 20)
	require.Empty(t, b.String(), "no bar for small work")
	Progress(&b, 10<<20, "x")(10 << 20)
	require.Empty(t, b.String(), "no bar when the writer is not a terminal")
}

// help COMMAND prints the command's usage to stdout, as COMMAND -h does.
func TestHelpCommand(t *testing.T) {
	var out, errb bytes.Buffer
	p := &Program{Name: "tool", Stdout: &out, Stderr: &errb,
		Commands: []*Command{{Name: "alpha", Args: "ARG", Help: "does alpha", Run: func([]string) error { return nil },
			Flags: func(fs *flag.FlagSet) { fs.Int("n", 0, "a number") }}}}
	require.Equal(t, ExitOK, p.Main([]string{"help", "alpha"}))
	require.Contains(t, out.String(), "usage: tool alpha [flags] ARG")
	require.Contains(t, out.String(), "-n")
	require.Empty(t, errb.String())
	out.Reset()
	require.Equal(t, ExitOK, p.Main([]string{"alpha", "-h"}))
	require.Contains(t, out.String(), "usage: tool alpha [flags] ARG", "COMMAND -h on stdout")
	require.Empty(t, errb.String())
	require.Equal(t, ExitUsage, p.Main([]string{"help", "nosuch"}))
	require.Contains(t, errb.String(), `unknown command "nosuch"`)
}
