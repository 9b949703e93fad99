package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

type segmentRow struct {
	ID         uint32  `json:"id"`
	File       string  `json:"file"`
	Size       int64   `json:"size"`
	Frames     int     `json:"frames"`
	Entries    int     `json:"entries"`
	MinVersion uint64  `json:"min_version"`
	MaxVersion uint64  `json:"max_version"`
	Stored     int64   `json:"value_bytes_stored"`
	Raw        int64   `json:"value_bytes_raw"`
	Ratio      float64 `json:"compression_ratio"`
	State      string  `json:"state"`
	Hint       string  `json:"hint_file"`
	Problems   int     `json:"problems"`
}

// segmentsCmd is the segments command and its flags (its help is in commands, main.go).
type segmentsCmd struct {
	*env
}

func (c *segmentsCmd) run(args []string) error {
	e := c.env
	args, err := e.withDir(args, 0, "[DIR]")
	if err != nil {
		return err
	}
	e.checkHints = true
	bySeg := map[*segFile]*segmentRow{}
	segs, problems, bad, err := e.scanAll(args[0], false, func(sf *segFile, off int64, f *segment.Frame) error {
		r := bySeg[sf]
		if r == nil {
			r = &segmentRow{}
			bySeg[sf] = r
		}
		if f.Marker() {
			return nil
		}
		r.Frames++
		if r.MinVersion == 0 {
			r.MinVersion = f.Version
		}
		r.MaxVersion = f.Version
		return f.Entries(func(en segment.Entry) error {
			r.Entries++
			r.Stored += int64(len(en.Value))
			if n, err := segment.DecodedLen(en.Codec, en.Value); err == nil {
				r.Raw += int64(n)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	rows := make([]segmentRow, 0, len(segs))
	for _, sf := range segs {
		r := segmentRow{}
		if bySeg[sf] != nil {
			r = *bySeg[sf]
		}
		r.ID, r.File, r.Size, r.State, r.Hint = sf.ID, sf.Path, sf.Size, "sealed", sf.Hint
		switch {
		case sf.Header.Compacted():
			r.State = "compacted"
		case sf.Newest && sf.Listed == nil:
			r.State = "active"
		}
		if r.Hint == "" {
			r.Hint = "unchecked"
		}
		for _, p := range problems {
			if p.Path == sf.Path {
				r.Problems++
			}
		}
		if r.Raw > 0 {
			r.Ratio = float64(r.Stored) / float64(r.Raw)
		}
		rows = append(rows, r)
	}
	if e.json {
		if err := cli.WriteJSON(e.stdout, rows); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "ID\tSIZE\tFRAMES\tENTRIES\tVERSIONS\tRATIO\tSTATE\tHINT\tPROBLEMS\t")
		for _, r := range rows {
			ratio := "-"
			if r.Raw > 0 {
				ratio = fmt.Sprintf("%.2f", r.Ratio)
			}
			hint, _, _ := strings.Cut(r.Hint, ":")
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d-%d\t%s\t%s\t%s\t%d\t\n", r.ID, r.Size, r.Frames, r.Entries,
				r.MinVersion, r.MaxVersion, ratio, r.State, hint, r.Problems)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "RATIO is stored/raw value bytes; HINT is ok, none (Open builds it), unusable (Open rebuilds it) or wrong (corruption); run verify for details of any problem.")
		if m, err := segment.ReadManifest(vfs.Default, args[0]); err == nil && m != nil {
			trimmed := "no history trimmed"
			if m.Trimmed > 0 {
				trimmed = fmt.Sprintf("history trimmed below version %d", m.Trimmed)
				if m.Vanished > 0 {
					trimmed += fmt.Sprintf(" (below version %d for keys it holds nothing of)", m.Vanished)
				}
			}
			fmt.Fprintf(e.stdout, "MANIFEST: generation %d, %d sealed segments listed, new commits went to segment %d, %s\n",
				m.Generation, len(m.Segments), m.Active, trimmed)
		}
	}
	if bad {
		return cli.ErrCorruptFound
	}
	return nil
}
