package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// changesCmd is the changes command and its flags (its help is in commands, main.go).
type changesCmd struct {
	*env
	after  uint64
	limit  int
	follow bool
	every  time.Duration
	n      int
}

func (c *changesCmd) flags(fs *flag.FlagSet) {
	fs.Uint64Var(&c.after, "after", 0, "only versions above this one")
	fs.IntVar(&c.limit, "limit", 0, "at most this many changes (0: all there are; with -follow, a page size)")
	fs.BoolVar(&c.follow, "follow", false, "keep printing changes as they commit, like tail -f, until interrupted; the directory is opened read-only for each look, so writers can take it in between")
	fs.DurationVar(&c.every, "every", 200*time.Millisecond, "with -follow, how often to look for new changes")
	fs.IntVar(&c.n, "n", 0, "with -follow, stop after this many changes (0: never)")
}

// changeJSON is a change as -json prints it (one object per line with
// -follow, an array without).
type changeJSON = versionJSON

func (c *changesCmd) run(args []string) error {
	prefix, err := optionalPrefix(args)
	if err != nil {
		return err
	}
	if c.limit < 0 || c.n < 0 || c.every <= 0 {
		return cli.Usagef("-limit and -n must not be negative, -every must be positive")
	}
	if !c.follow {
		return c.withDB(true, func(db *kv.DB) error {
			var all []changeJSON
			after := kv.Version(c.after)
			for {
				page, err := db.Changes(c.env.run, prefix, after, min(max(c.limit-len(all), 0), kv.DefaultScanLimit))
				if err != nil {
					return err
				}
				for _, ch := range page {
					if c.limit > 0 && len(all) == c.limit {
						break
					}
					all = append(all, toVersionJSON(c.env.run, ch.Key, ch.Versioned))
					after = ch.Version
				}
				if len(page) == 0 || (c.limit > 0 && len(all) >= c.limit) {
					break
				}
			}
			if c.json {
				if all == nil {
					all = []changeJSON{}
				}
				return cli.WriteJSON(c.stdout, all)
			}
			for _, ch := range all {
				c.printChange(ch)
			}
			return nil
		})
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return c.followChanges(ctx, prefix)
}

// followChanges prints each change after c.after as it commits: it opens
// the directory read-only, prints what is new, closes it and waits
// c.every, so that writers (strata put, say) can take the directory in
// between.
func (c *changesCmd) followChanges(ctx context.Context, prefix string) error {
	after, printed := kv.Version(c.after), 0
	for {
		err := c.withDB(true, func(db *kv.DB) error {
			for {
				last := db.LastVersion()
				page, err := db.Changes(c.env.run, prefix, after, c.limit)
				if err == nil && len(page) == 0 {
					after = max(after, last) // the next look starts past other runs' commits
				}
				if err != nil || len(page) == 0 {
					return err
				}
				for _, ch := range page {
					c.printChange(toVersionJSON(c.env.run, ch.Key, ch.Versioned))
					after = ch.Version
					if printed++; c.n > 0 && printed == c.n {
						return errDone
					}
				}
			}
		})
		switch {
		case errors.Is(err, errDone):
			return nil
		case errors.Is(err, kv.ErrLocked):
			// A writer holds the directory: look again later.
		case err != nil:
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.every):
		}
	}
}

// errDone ends a follow that printed the changes asked for.
var errDone = errors.New("done")

// printChange prints one change: a JSON object on one line with -json,
// else "version key value" (or "deleted").
func (c *changesCmd) printChange(ch changeJSON) {
	if c.json {
		cli.WriteJSONLine(c.stdout, ch)
		return
	}
	val := fmt.Sprint(ch.Value)
	if ch.Deleted {
		val = "(deleted)"
	}
	fmt.Fprintf(c.stdout, "%d\t%s\t%s\t%s\n", ch.Version, ch.Timestamp, ch.Key, val)
}
