package main

import (
	"flag"
	"fmt"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

func init() {
	var at uint64
	register(&command{
		name: "get", args: "KEY", help: "print the newest version of KEY (with -at V, the one current at version V)",
		flags: func(fs *flag.FlagSet) {
			fs.Uint64Var(&at, "at", 0, "read as of this version (0: newest)")
		},
		run: func(e *env, args []string) error {
			if err := needArgs(args, 1, 1, "KEY"); err != nil {
				return err
			}
			return e.withDB(true, func(db *kv.DB) error {
				var v kv.Versioned
				var err error
				if at > 0 {
					v, err = db.GetAt(e.run, args[0], kv.Version(at))
				} else {
					var ok bool
					v, ok, err = db.Get(e.run, args[0])
					if err == nil && !ok {
						err = &notFoundError{fmt.Sprintf("%s/%s: not found", e.run, args[0])}
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
		},
	})
}
