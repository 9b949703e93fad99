package main

import (
	"flag"
	"fmt"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// dropRunCmd is the drop-run command (its help is in commands, main.go).
type dropRunCmd struct{ *env }

func (c *dropRunCmd) run(args []string) error {
	if err := needArgs(args, 1, 1, "RUN"); err != nil {
		return err
	}
	run := kv.RunID(args[0])
	if err := kv.CheckRun(run); err != nil {
		return err // before an open for writing starts a segment
	}
	if err := c.mustExist(); err != nil {
		return err
	}
	return c.withDB(false, func(db *kv.DB) error {
		v, err := db.DropRun(run)
		if err != nil {
			return err
		}
		if c.json {
			return cli.WriteJSON(c.stdout, map[string]any{"run": run, "version": v})
		}
		if v == 0 {
			fmt.Fprintf(c.stdout, "run %s holds no live key: nothing dropped\n", run)
			return nil
		}
		fmt.Fprintf(c.stdout, "run %s dropped at version %d (its history stays readable below it)\n", run, v)
		return nil
	})
}

// forkCmd is the fork command and its flags (its help is in commands, main.go).
type forkCmd struct {
	*env
	at uint64
}

func (c *forkCmd) flags(fs *flag.FlagSet) {
	fs.Uint64Var(&c.at, "at", 0, "fork SRC as of this version (0: the latest)")
}

func (c *forkCmd) run(args []string) error {
	if err := needArgs(args, 2, 2, "SRC DST"); err != nil {
		return err
	}
	src, dst := kv.RunID(args[0]), kv.RunID(args[1])
	for _, r := range []kv.RunID{src, dst} {
		if err := kv.CheckRun(r); err != nil {
			return err // before an open for writing starts a segment
		}
	}
	if err := c.mustExist(); err != nil {
		return err
	}
	return c.withDB(false, func(db *kv.DB) error {
		v, err := db.ForkRun(src, dst, kv.Version(c.at))
		if err != nil {
			return err
		}
		if c.json {
			return cli.WriteJSON(c.stdout, map[string]any{"src": src, "dst": dst, "at": c.at, "version": v})
		}
		if v == 0 {
			fmt.Fprintf(c.stdout, "run %s held no live key then: nothing forked\n", src)
			return nil
		}
		fmt.Fprintf(c.stdout, "run %s is now a copy of %s (version %d)\n", dst, src, v)
		return nil
	})
}
