package main

import (
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// demoCmd is the demo command and its flags (its help is in commands, main.go).
type demoCmd struct {
	*env
}

func (c *demoCmd) run(args []string) error {
	e := c.env
	if err := needArgs(args, 0, 0, "no arguments"); err != nil {
		return err
	}
	return e.withDB(false, func(db *kv.DB) error { return demo(e, db) })
}

// demo writes the sample runs and prints what it shows, as text, or with
// -json one document: the directory, the runs, the version it ended at
// and the time-travel read's version.
func demo(e *env, db *kv.DB) error {
	abs, _ := filepath.Abs(e.dir)
	out := e.stdout
	if e.json {
		out = io.Discard
	}
	fmt.Fprintf(out, "Strata demo: writing to %s\n\n", abs)

	plans := []string{"read the issue", "write a failing test", "fix the bug", "run the suite", "open a pull request"}
	runs := []kv.RunID{"agent-alpha", "agent-beta"}
	var checkpoint kv.Version
	for step, plan := range plans {
		for i, run := range runs {
			// One atomic batch per step: the plan, and what was seen.
			v, err := db.MPut(run, []kv.KeyValue{
				{Key: "plan", Value: kv.String(plan)},
				{Key: "observation", Value: kv.Object(map[string]kv.Value{
					"step":   kv.Int(int64(step + 1)),
					"ok":     kv.Bool(step%2 == 0 || i == 0),
					"score":  kv.Float(0.5 + float64(step)/10),
					"digest": kv.Bytes([]byte{byte(step), byte(i)}),
				})},
			})
			if err != nil {
				return err
			}
			if _, err := db.Incr(run, "steps", 1); err != nil {
				return err
			}
			if step == 2 && i == 0 {
				checkpoint = v
			}
		}
	}
	if _, err := db.Put("agent-beta", "scratch", kv.Array(kv.String("temp"))); err != nil {
		return err
	}
	if _, err := db.Delete("agent-beta", "scratch"); err != nil {
		return err
	}
	fmt.Fprintf(out, "Wrote %d steps for runs %s and %s (now at version %d).\n\n", len(plans), runs[0], runs[1], db.LastVersion())

	fmt.Fprintf(out, "History of %s/plan, newest first (last %d versions):\n", runs[0], len(plans))
	h, err := db.History(runs[0], "plan", len(plans), 0)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VERSION\tTIME (UTC)\tVALUE")
	for _, v := range h {
		fmt.Fprintf(tw, "  %d\t%s\t%v\n", v.Version, formatTime(v.Timestamp), v.Value)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(out, "\nTime travel: %s as it was at version %d:\n", runs[0], checkpoint)
	err = db.ViewAt(checkpoint, func(tx *kv.Txn) error {
		page, err := tx.Scan(runs[0], "", 0, "")
		if err != nil {
			return err
		}
		for _, en := range page.Entries {
			fmt.Fprintf(out, "  %-12s v%-4d %v\n", en.Key, en.Version, en.Value)
		}
		return nil
	})
	if err != nil {
		return err
	}
	now, _, err := db.Get(runs[0], "plan")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "...and now: plan = %v (version %d)\n", now.Value, now.Version)

	st := db.Stats()
	fmt.Fprintf(out, "\nThe data is in %s: %d segment file(s), %d bytes, %d versions of %d live keys.\n",
		abs, st.Segments, st.LiveBytes, st.Versions, st.Keys)
	fmt.Fprintf(out, "Look around:\n  go run ./cmd/strata -dir %s -run %s history plan\n  go run ./cmd/strata -dir %s -run %s scan\n",
		e.dir, runs[0], e.dir, runs[1])
	if e.json {
		return cli.WriteJSON(e.stdout, map[string]any{"dir": abs, "runs": runs, "version": db.LastVersion(),
			"time_travel_version": checkpoint, "plan": toVersionJSON(runs[0], "plan", now)})
	}
	return nil
}
