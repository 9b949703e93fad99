package main

import (
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// scanCmd is the scan command and its flags (its help is in commands, main.go).
type scanCmd struct {
	*env
	limit  int
	cursor string
	all    bool
}

func (c *scanCmd) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.limit, "limit", kv.DefaultScanLimit, "page size")
	fs.StringVar(&c.cursor, "cursor", "", "continue from a previous page's cursor")
	fs.BoolVar(&c.all, "all", false, "print every page")
}

func (c *scanCmd) run(args []string) error {
	e := c.env
	prefix, err := optionalPrefix(args)
	if err != nil {
		return err
	}
	return e.withDB(true, func(db *kv.DB) error {
		var entries []versionJSON
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		if !e.json {
			fmt.Fprintln(tw, "KEY\tVERSION\tVALUE")
		}
		for {
			page, err := db.Scan(e.run, prefix, c.limit, c.cursor)
			if err != nil {
				return err
			}
			for _, en := range page.Entries {
				if e.json {
					entries = append(entries, toVersionJSON(e.run, en.Key, en.Versioned))
				} else {
					fmt.Fprintf(tw, "%s\t%d\t%v\n", en.Key, en.Version, en.Value)
				}
			}
			c.cursor = page.Cursor
			if !c.all || c.cursor == "" {
				break
			}
		}
		if e.json {
			if entries == nil {
				entries = []versionJSON{}
			}
			return cli.WriteJSON(e.stdout, map[string]any{"entries": entries, "cursor": c.cursor})
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if c.cursor != "" {
			fmt.Fprintf(e.stderr, "more: strata scan -cursor %s %s\n", c.cursor, prefix)
		}
		return nil
	})
}
