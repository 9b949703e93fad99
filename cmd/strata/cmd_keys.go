package main

import (
	"flag"
	"fmt"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// keysCmd is the keys command and its flags (its help is in commands, main.go).
type keysCmd struct {
	*env
	limit int
}

func (c *keysCmd) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.limit, "limit", 0, "at most this many keys (0: all)")
}

func (c *keysCmd) run(args []string) error {
	e := c.env
	prefix, err := optionalPrefix(args)
	if err != nil {
		return err
	}
	if err := nonNegative("-limit", c.limit); err != nil {
		return err
	}
	return e.withDB(true, func(db *kv.DB) error {
		keys, err := db.Keys(e.run, prefix, c.limit)
		if err != nil {
			return err
		}
		if e.json {
			return cli.WriteJSON(e.stdout, keys)
		}
		for _, k := range keys {
			fmt.Fprintln(e.stdout, k)
		}
		return nil
	})
}
