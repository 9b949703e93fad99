package main

import (
	"fmt"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// runsCmd is the runs command (its help is in commands, main.go).
type runsCmd struct{ *env }

func (c *runsCmd) run(args []string) error {
	if err := needArgs(args, 0, 0, "no arguments"); err != nil {
		return err
	}
	return c.withDB(true, func(db *kv.DB) error {
		runs, err := db.Runs()
		if err != nil {
			return err
		}
		if c.json {
			return cli.WriteJSON(c.stdout, runs)
		}
		for _, r := range runs {
			fmt.Fprintln(c.stdout, r)
		}
		return nil
	})
}
