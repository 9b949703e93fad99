package main

import (
	"encoding/base64"
	"flag"
	"fmt"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// putCmd is the put command and its flags (its help is in commands, main.go).
type putCmd struct {
	*env
	asBytes bool
}

func (c *putCmd) flags(fs *flag.FlagSet) {
	fs.BoolVar(&c.asBytes, "bytes", false, "VALUE is base64 and is stored as bytes")
}

func (c *putCmd) run(args []string) error {
	e := c.env
	if err := needArgs(args, 2, 2, "KEY VALUE"); err != nil {
		return err
	}
	var v kv.Value
	if c.asBytes {
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
	// Bad input is refused before the database is opened: an open for
	// writing starts a segment (or creates the database).
	if err := kv.CheckRunKey(e.run, args[0]); err != nil {
		return err
	}
	if err := kv.CheckValue(v, 0); err != nil {
		return err
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
}
