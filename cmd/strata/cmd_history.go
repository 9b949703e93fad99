package main

import (
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// historyCmd is the history command and its flags (its help is in commands, main.go).
type historyCmd struct {
	*env
	limit  int
	before uint64
}

func (c *historyCmd) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.limit, "limit", 0, "at most this many versions (0: all)")
	fs.Uint64Var(&c.before, "before", 0, "only versions below this one (0: no bound)")
}

func (c *historyCmd) run(args []string) error {
	e := c.env
	if err := needArgs(args, 1, 1, "KEY"); err != nil {
		return err
	}
	if err := nonNegative("-limit", c.limit); err != nil {
		return err
	}
	return e.withDB(true, func(db *kv.DB) error {
		h, err := db.History(e.run, args[0], c.limit, kv.Version(c.before))
		if err != nil {
			return err
		}
		if e.json {
			out := make([]versionJSON, len(h))
			for i, v := range h {
				out[i] = toVersionJSON(e.run, args[0], v)
			}
			return cli.WriteJSON(e.stdout, out)
		}
		if len(h) == 0 {
			fmt.Fprintf(e.stdout, "%s/%s has no versions\n", e.run, args[0])
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tTIME (UTC)\tVALUE")
		for _, v := range h {
			val := v.Value.String()
			if v.Deleted {
				val = "(deleted)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", v.Version, formatTime(v.Timestamp), val)
		}
		return tw.Flush()
	})
}
