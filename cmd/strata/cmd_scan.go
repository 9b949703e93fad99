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
	pages
}

// pages are the paging flags of scan and range.
type pages struct {
	limit  int
	cursor string
	all    bool
}

func (p *pages) flags(fs *flag.FlagSet) {
	fs.IntVar(&p.limit, "limit", kv.DefaultScanLimit, "page size")
	fs.StringVar(&p.cursor, "cursor", "", "continue from a previous page's cursor")
	fs.BoolVar(&p.all, "all", false, "print every page")
}

// check refuses a negative -limit, as every command does.
func (p *pages) check() error { return nonNegative("-limit", p.limit) }

func (c *scanCmd) run(args []string) error {
	prefix, err := optionalPrefix(args)
	if err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	return c.withDB(true, func(db *kv.DB) error {
		return c.print(c.env, func(cursor string) (kv.Page, error) { return db.Scan(c.env.run, prefix, c.limit, cursor) },
			func(cursor string) string { return fmt.Sprintf("strata scan -cursor %s %s", cursor, prefix) })
	})
}

// print prints the page read reads from p.cursor (every page with
// p.all), as a table or JSON ({"entries": [...], "cursor": "..."}); more
// returns the command that continues from a cursor.
func (p *pages) print(e *env, read func(cursor string) (kv.Page, error), more func(cursor string) string) error {
	var entries []versionJSON
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if !e.json {
		fmt.Fprintln(tw, "KEY\tVERSION\tVALUE")
	}
	for {
		page, err := read(p.cursor)
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
		p.cursor = page.Cursor
		if !p.all || p.cursor == "" {
			break
		}
	}
	if e.json {
		if entries == nil {
			entries = []versionJSON{}
		}
		return cli.WriteJSON(e.stdout, map[string]any{"entries": entries, "cursor": p.cursor})
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p.cursor != "" {
		fmt.Fprintf(e.stderr, "more: %s\n", more(p.cursor))
	}
	return nil
}
