package main

import (
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

type historyRow struct {
	Version   uint64    `json:"version"`
	Timestamp string    `json:"timestamp"`
	Deleted   bool      `json:"deleted,omitempty"`
	File      string    `json:"file"`
	Offset    int64     `json:"offset"`
	Codec     string    `json:"codec"`
	Value     *kv.Value `json:"value,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// historyCmd is the history command and its flags (its help is in commands, main.go).
type historyCmd struct {
	*env
}

func (c *historyCmd) run(args []string) error {
	e := c.env
	args, err := e.withDir(args, 2, "[DIR] RUN KEY")
	if err != nil {
		return err
	}
	run, key := args[1], args[2]
	if err := kv.CheckRunKey(kv.RunID(run), key); err != nil {
		return err // no entry can hold them: bad input, not "no versions"
	}
	var rows []historyRow
	_, problems, bad, err := e.scanAll(args[0], false, func(sf *segFile, off int64, f *segment.Frame) error {
		return f.Entries(func(en segment.Entry) error {
			if string(en.Run) == segment.EventRun {
				// A drop of the key's run, or a fork into it, changed
				// the key without an entry of its own: show the event.
				ev, err := segment.ParseEvent(en.Key)
				if err == nil && ev.Run == run {
					v, _ := describeEvent(en.Key)
					rows = append(rows, historyRow{Version: f.Version, Timestamp: formatTS(f.Timestamp), Value: &v,
						File: sf.Path, Offset: off + int64(en.ValueOffset), Codec: codecName(en.Codec)})
				}
				return nil
			}
			if string(en.Run) != run || string(en.Key) != key {
				return nil
			}
			r := historyRow{Version: f.Version, Timestamp: formatTS(f.Timestamp), Deleted: en.Op == segment.OpDelete,
				File: sf.Path, Offset: off + int64(en.ValueOffset), Codec: codecName(en.Codec)}
			if v, _, err := decodeEntry(en); err != nil {
				r.Error = err.Error()
			} else if !r.Deleted {
				r.Value = &v
			}
			rows = append(rows, r)
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(e.stderr, p)
	}
	slices.Reverse(rows)
	if e.json {
		if rows == nil {
			rows = []historyRow{}
		}
		if err := cli.WriteJSON(e.stdout, rows); err != nil {
			return err
		}
	} else if len(rows) == 0 {
		fmt.Fprintf(e.stdout, "%s/%s has no versions in %s\n", run, key, args[0])
	} else {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tTIME (UTC)\tWHERE\tVALUE")
		for _, r := range rows {
			val := "(deleted)"
			if r.Error != "" {
				val = "ERROR " + r.Error
			} else if r.Value != nil {
				val = r.Value.String()
			}
			fmt.Fprintf(tw, "%d\t%s\t%s@%d\t%s\n", r.Version, r.Timestamp, shortName(r.File), r.Offset, val)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if bad {
		return cli.ErrCorruptFound
	}
	return nil
}
