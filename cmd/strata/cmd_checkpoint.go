package main

import (
	"fmt"
	"time"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// checkpointCmd is the checkpoint command (its help is in commands, main.go).
type checkpointCmd struct{ *env }

func (c *checkpointCmd) run(args []string) error {
	if err := needArgs(args, 1, 1, "DEST"); err != nil {
		return err
	}
	if err := c.mustExist(); err != nil {
		return err
	}
	return c.withDB(false, func(db *kv.DB) error {
		start := time.Now()
		v, err := db.Checkpoint(args[0])
		if err != nil {
			return err
		}
		if c.json {
			return cli.WriteJSON(c.stdout, map[string]any{"dir": args[0], "version": v, "seconds": time.Since(start).Seconds()})
		}
		fmt.Fprintf(c.stdout, "%s: a copy of %s at version %d (%.3f s); open it with -dir %s\n", args[0], c.dir, v, time.Since(start).Seconds(), args[0])
		return nil
	})
}
