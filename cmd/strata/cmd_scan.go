package main

import (
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

func init() {
	var limit int
	var cursor string
	var all bool
	register(&command{
		name: "scan", args: "[PREFIX]", help: "list live keys with their newest values, a page at a time",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&limit, "limit", kv.DefaultScanLimit, "page size")
			fs.StringVar(&cursor, "cursor", "", "continue from a previous page's cursor")
			fs.BoolVar(&all, "all", false, "print every page")
		},
		run: func(e *env, args []string) error {
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
					page, err := db.Scan(e.run, prefix, limit, cursor)
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
					cursor = page.Cursor
					if !all || cursor == "" {
						break
					}
				}
				if e.json {
					if entries == nil {
						entries = []versionJSON{}
					}
					return cli.WriteJSON(e.stdout, map[string]any{"entries": entries, "cursor": cursor})
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if cursor != "" {
					fmt.Fprintf(e.stderr, "more: strata scan -cursor %s %s\n", cursor, prefix)
				}
				return nil
			})
		},
	})
}
