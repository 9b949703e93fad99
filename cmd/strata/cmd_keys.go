package main

import (
	"flag"
	"fmt"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

func init() {
	var limit int
	register(&command{
		name: "keys", args: "[PREFIX]", help: "list live keys",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&limit, "limit", 0, "at most this many keys (0: all)")
		},
		run: func(e *env, args []string) error {
			prefix, err := optionalPrefix(args)
			if err != nil {
				return err
			}
			return e.withDB(true, func(db *kv.DB) error {
				keys, err := db.Keys(e.run, prefix, limit)
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
		},
	})
}
