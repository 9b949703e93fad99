package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// compactCmd is the compact command and its flags (its help is in
// commands, main.go).
type compactCmd struct {
	*env
	keepVersions int
	keepFor      time.Duration
}

func (c *compactCmd) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.keepVersions, "keep-versions", 0, "drop all but each key's newest N versions (0: keep all)")
	fs.DurationVar(&c.keepFor, "keep-for", 0, "drop what reads within this window do not need (0: keep all)")
}

func (c *compactCmd) run(args []string) error {
	if err := needArgs(args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if c.keepVersions < 0 {
		return cli.Usagef("-keep-versions %d is negative", c.keepVersions)
	}
	if c.keepFor < 0 {
		return cli.Usagef("-keep-for %s is negative", c.keepFor)
	}
	if err := c.mustExist(); err != nil {
		return err
	}
	c.retention = kv.Retention{KeepVersions: c.keepVersions, KeepFor: c.keepFor}
	// Background compaction off: its look at Open would otherwise do
	// part of the work first, and the report would leave it out.
	c.noBackground = true
	return c.withDB(false, func(db *kv.DB) error {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		if !c.json {
			fmt.Fprintf(c.stderr, "strata: compacting %s (interrupt stops it, leaving the database as it was or compacted)\n", c.dir)
		}
		start := time.Now()
		st, err := db.Compact(ctx)
		if err != nil {
			return err
		}
		secs := time.Since(start).Seconds()
		if c.json {
			return cli.WriteJSON(c.stdout, map[string]any{"segments_in": st.SegmentsIn, "segments_out": st.SegmentsOut,
				"bytes_reclaimed": st.BytesReclaimed, "versions_dropped": st.VersionsDropped, "seconds": secs})
		}
		fmt.Fprintf(c.stdout, "%d segments rewritten into %d, %d versions dropped, %d bytes freed (%.3f s)\n",
			st.SegmentsIn, st.SegmentsOut, st.VersionsDropped, st.BytesReclaimed, secs)
		return nil
	})
}
