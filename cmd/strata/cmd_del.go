package main

import (
	"fmt"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// delCmd is the del command and its flags (its help is in commands, main.go).
type delCmd struct {
	*env
}

func (c *delCmd) run(args []string) error {
	e := c.env
	if err := needArgs(args, 1, -1, "at least one KEY"); err != nil {
		return err
	}
	for _, k := range args {
		if err := kv.CheckRunKey(e.run, k); err != nil {
			return err // before an open for writing starts a segment
		}
	}
	return e.withDB(false, func(db *kv.DB) error {
		n, err := db.MDelete(e.run, args)
		if err != nil {
			return err
		}
		if e.json {
			return cli.WriteJSON(e.stdout, map[string]any{"run": e.run, "deleted": n, "version": db.LastVersion()})
		}
		fmt.Fprintf(e.stdout, "deleted %d of %d key(s)\n", n, len(args))
		return nil
	})
}
