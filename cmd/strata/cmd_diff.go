package main

import (
	"fmt"
	"strconv"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// diffCmd is the diff command (its help is in commands, main.go).
type diffCmd struct{ *env }

func (c *diffCmd) run(args []string) error {
	if err := needArgs(args, 2, 2, "FROM TO"); err != nil {
		return err
	}
	var vs [2]kv.Version
	for i, a := range args {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			return cli.Usagef("version %q is not a number", a)
		}
		vs[i] = kv.Version(n)
	}
	return c.withDB(true, func(db *kv.DB) error {
		d, err := db.Diff(c.env.run, vs[0], vs[1])
		if err != nil {
			return err
		}
		if c.json {
			out := make([]versionJSON, len(d))
			for i, ch := range d {
				out[i] = toVersionJSON(c.env.run, ch.Key, ch.Versioned)
			}
			return cli.WriteJSON(c.stdout, out)
		}
		for _, ch := range d {
			val := fmt.Sprint(ch.Value)
			if ch.Deleted {
				val = "(absent)"
			}
			fmt.Fprintf(c.stdout, "%s\t%d\t%s\n", ch.Key, ch.Version, val)
		}
		if len(d) == 0 {
			fmt.Fprintf(c.stderr, "run %s is the same at versions %d and %d\n", c.env.run, vs[0], vs[1])
		}
		return nil
	})
}
