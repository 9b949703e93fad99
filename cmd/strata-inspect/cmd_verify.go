package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/segment"
)

type verifyReport struct {
	Segments int `json:"segments"`
	// Hints counts the segments by the state of their hint file (see
	// the segments command).
	Hints        map[string]int `json:"hints"`
	Frames       int            `json:"frames"`
	Entries      int            `json:"entries"`
	Bytes        int64          `json:"bytes"`
	FirstVersion uint64         `json:"first_version"`
	LastVersion  uint64         `json:"last_version"`
	Problems     []problem      `json:"problems"`
	Clean        bool           `json:"clean"`
}

// verifyCmd is the verify command and its flags (its help is in commands, main.go).
type verifyCmd struct {
	*env
}

func (c *verifyCmd) run(args []string) error {
	e := c.env
	args, err := e.withDir(args, 0, "[DIR]")
	if err != nil {
		return err
	}
	e.checkHints = true
	var rep verifyReport
	segs, problems, _, err := e.scanAll(args[0], true, func(sf *segFile, off int64, f *segment.Frame) error {
		if f.Marker() {
			return nil
		}
		rep.Frames++
		if rep.FirstVersion == 0 {
			rep.FirstVersion = f.Version
		}
		rep.LastVersion = f.Version
		return f.Entries(func(en segment.Entry) error {
			rep.Entries++
			if _, _, err := decodeEntry(en); err != nil {
				rep.Problems = append(rep.Problems, problem{Path: sf.Path, Offset: off + int64(en.ValueOffset),
					Message: fmt.Sprintf("value of %s/%s in version %d: %v", en.Run, en.Key, f.Version, err)})
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	rep.Segments, rep.Bytes = len(segs), totalSize(segs)
	rep.Hints = map[string]int{}
	for _, sf := range segs {
		if state, _, _ := strings.Cut(sf.Hint, ":"); state != "" {
			rep.Hints[state]++
		}
	}
	rep.Problems = append(append([]problem{}, problems...), rep.Problems...)
	rep.Clean = true
	for _, p := range rep.Problems {
		rep.Clean = rep.Clean && p.Torn
	}
	if e.json {
		if err := cli.WriteJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintln(e.stdout, p)
		}
		verdict := "clean"
		for _, p := range rep.Problems {
			if p.Torn {
				verdict = fmt.Sprintf("clean but for a torn tail of %d bytes (Open cuts it)", p.Bytes)
			}
		}
		if !rep.Clean {
			verdict = "CORRUPT"
		}
		var hints []string
		for _, state := range slices.Sorted(maps.Keys(rep.Hints)) {
			hints = append(hints, fmt.Sprintf("%d %s", rep.Hints[state], state))
		}
		versions := "no versions"
		if rep.Frames > 0 {
			versions = fmt.Sprintf("versions %d-%d", rep.FirstVersion, rep.LastVersion)
		}
		fmt.Fprintf(e.stdout, "%s: %d segments, %d frames, %d entries, %d bytes, %s (hint files: %s): %s\n",
			args[0], rep.Segments, rep.Frames, rep.Entries, rep.Bytes, versions, strings.Join(hints, ", "), verdict)
	}
	if !rep.Clean {
		return cli.ErrCorruptFound
	}
	return nil
}
