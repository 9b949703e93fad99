package main

import (
	"encoding/base64"
	"flag"
	"fmt"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

func init() {
	var asBytes bool
	register(&command{
		name: "put", args: "KEY VALUE", help: "write VALUE (JSON, or base64 with -bytes) as a new version of KEY",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asBytes, "bytes", false, "VALUE is base64 and is stored as bytes")
		},
		run: func(e *env, args []string) error {
			if err := needArgs(args, 2, 2, "KEY VALUE"); err != nil {
				return err
			}
			var v kv.Value
			if asBytes {
				raw, err := base64.StdEncoding.DecodeString(args[1])
				if err != nil {
					return cli.Usagef("-bytes value is not base64: %v", err)
				}
				v = kv.Bytes(raw)
			} else {
				var err error
				if v, err = parseValue(args[1]); err != nil {
					return err
				}
			}
			return e.withDB(false, func(db *kv.DB) error {
				ver, err := db.Put(e.run, args[0], v)
				if err != nil {
					return err
				}
				if e.json {
					return cli.WriteJSON(e.stdout, map[string]any{"run": e.run, "key": args[0], "version": ver})
				}
				fmt.Fprintf(e.stdout, "%s/%s = %v (version %d)\n", e.run, args[0], v, ver)
				return nil
			})
		},
	})
}
