package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/strata-kv/strata/kv"
)

// rangeCmd is the range command and its flags (its help is in commands, main.go).
type rangeCmd struct {
	*env
	pages
	reverse bool
}

func (c *rangeCmd) flags(fs *flag.FlagSet) {
	c.pages.flags(fs)
	fs.BoolVar(&c.reverse, "reverse", false, "descending, from END down to START")
}

func (c *rangeCmd) run(args []string) error {
	if err := needArgs(args, 0, 2, "[START [END]]"); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	var r kv.RangeOptions
	if len(args) > 0 {
		r.Start = args[0]
	}
	if len(args) > 1 {
		r.End = args[1]
	}
	r.Reverse, r.Limit = c.reverse, c.limit
	more := func(cursor string) string {
		rev := ""
		if r.Reverse {
			rev = " -reverse"
		}
		return fmt.Sprintf("strata range -cursor %s%s %s %s", cursor, rev, strconv.Quote(r.Start), strconv.Quote(r.End))
	}
	return c.withDB(true, func(db *kv.DB) error {
		return c.print(c.env, func(cursor string) (kv.Page, error) {
			r.Cursor = cursor
			return db.Range(c.env.run, r)
		}, more)
	})
}
