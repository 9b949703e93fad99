package main

import (
	"flag"
	"fmt"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// getCmd is the get command and its flags (its help is in commands, main.go).
type getCmd struct {
	*env
	at uint64
}

func (c *getCmd) flags(fs *flag.FlagSet) {
	fs.Uint64Var(&c.at, "at", 0, "read as of this version (0: newest)")
}

func (c *getCmd) run(args []string) error {
	e := c.env
	if err := needArgs(args, 1, 1, "KEY"); err != nil {
		return err
	}
	return e.withDB(true, func(db *kv.DB) error {
		var v kv.Versioned
		var err error
		if c.at > 0 {
			v, err = db.GetAt(e.run, args[0], kv.Version(c.at))
		} else {
			var ok bool
			v, ok, err = db.Get(e.run, args[0])
			if err == nil && !ok {
				err = fmt.Errorf("%s/%s: %w", e.run, args[0], cli.ErrNotFound)
			}
		}
		if err != nil {
			return err
		}
		if e.json {
			return cli.WriteJSON(e.stdout, toVersionJSON(e.run, args[0], v))
		}
		fmt.Fprintf(e.stdout, "%v\n", v.Value)
		fmt.Fprintf(e.stderr, "(%s/%s version %d, %s)\n", e.run, args[0], v.Version, formatTime(v.Timestamp))
		return nil
	})
}
