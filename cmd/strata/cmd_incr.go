package main

import (
	"fmt"
	"strconv"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// incrCmd is the incr command and its flags (its help is in commands, main.go).
type incrCmd struct {
	*env
}

func (c *incrCmd) run(args []string) error {
	e := c.env
	if err := needArgs(args, 1, 2, "KEY [DELTA]"); err != nil {
		return err
	}
	delta := int64(1)
	if len(args) == 2 {
		d, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return cli.Usagef("DELTA %q is not a 64-bit integer", args[1])
		}
		delta = d
	}
	if err := kv.CheckRunKey(e.run, args[0]); err != nil {
		return err // before an open for writing starts a segment
	}
	return e.withDB(false, func(db *kv.DB) error {
		n, err := db.Incr(e.run, args[0], delta)
		if err != nil {
			return err
		}
		if e.json {
			return cli.WriteJSON(e.stdout, map[string]any{"run": e.run, "key": args[0], "value": n, "version": db.LastVersion()})
		}
		fmt.Fprintln(e.stdout, n)
		return nil
	})
}
