package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"strings"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

type entryJSON struct {
	Kind        string    `json:"kind"`
	Run         string    `json:"run"`
	Key         string    `json:"key"`
	Codec       string    `json:"codec"`
	ValueOffset int64     `json:"value_offset"`
	Stored      int       `json:"stored_bytes"`
	Raw         int       `json:"raw_bytes"`
	Value       *kv.Value `json:"value,omitempty"`
	Error       string    `json:"error,omitempty"`
}

type frameJSON struct {
	File      string      `json:"file"`
	Offset    int64       `json:"offset"`
	Size      int         `json:"size"`
	Version   uint64      `json:"version"`
	Timestamp string      `json:"timestamp"`
	Marker    bool        `json:"sync_marker,omitempty"`
	Synced    int64       `json:"synced"`
	Entries   []entryJSON `json:"entries"`
	Hex       string      `json:"hex,omitempty"`
}

// maxHex bounds the bytes of one damaged region that dump -hex prints.
const maxHex = 4096

// dumpCmd is the dump command and its flags (its help is in commands, main.go).
type dumpCmd struct {
	*env
	onlyRun string
	key     string
	from    uint64
	limit   int
	hexOut  bool
}

func (c *dumpCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.onlyRun, "run", "", "only entries of this run")
	fs.StringVar(&c.key, "key", "", "only entries of this key")
	fs.Uint64Var(&c.from, "from-version", 0, "only frames at or above this version")
	fs.IntVar(&c.limit, "limit", 0, "stop after this many entries (0: all)")
	fs.BoolVar(&c.hexOut, "hex", false, "also print the bytes of each frame, and of each damaged region (up to 4 KiB)")
}

func (c *dumpCmd) run(args []string) error {
	e := c.env
	args, err := e.withDir(args, 0, "[FILE|DIR]")
	if err != nil {
		return err
	}
	if c.limit < 0 {
		return cli.Usagef("-limit must not be negative")
	}
	var frames []frameJSON
	printed := 0
	errLimit := fmt.Errorf("limit reached")
	_, problems, bad, err := e.scanAll(args[0], false, func(sf *segFile, off int64, f *segment.Frame) error {
		if f.Version < c.from {
			return nil
		}
		fr := frameJSON{File: sf.Path, Offset: off, Size: f.Size, Version: f.Version, Timestamp: formatTS(f.Timestamp),
			Marker: f.Marker(), Synced: f.Synced}
		if c.hexOut {
			fr.Hex = hex.Dump(f.Bytes())
		}
		if f.Marker() {
			if c.onlyRun == "" && c.key == "" {
				if e.json {
					frames = append(frames, fr)
				} else {
					printFrame(e, fr)
				}
			}
			return nil
		}
		err := f.Entries(func(en segment.Entry) error {
			if (c.onlyRun != "" && string(en.Run) != c.onlyRun) || (c.key != "" && string(en.Key) != c.key) {
				return nil
			}
			if c.limit > 0 && printed == c.limit {
				return errLimit
			}
			printed++
			ej := entryJSON{Kind: opName(en.Op), Run: string(en.Run), Key: string(en.Key), Codec: codecName(en.Codec),
				ValueOffset: off + int64(en.ValueOffset), Stored: len(en.Value)}
			v, raw, err := decodeEntry(en)
			ej.Raw = raw
			if err != nil {
				ej.Error = err.Error()
			} else if en.Op == segment.OpPut {
				ej.Value = &v
			}
			fr.Entries = append(fr.Entries, ej)
			return nil
		})
		if len(fr.Entries) > 0 {
			if e.json {
				frames = append(frames, fr)
			} else {
				printFrame(e, fr)
			}
		}
		return err
	})
	if err == errLimit {
		// Stopped early: the problems of what was read are known, and
		// reported; those of what was not read are not.
		err = nil
	}
	if err != nil {
		return err
	}
	for _, p := range problems {
		if e.json {
			// stdout holds the frames' JSON; the damage is named on
			// stderr, as history does.
			fmt.Fprintln(e.stderr, "strata-inspect:", p)
			continue
		}
		fmt.Fprintln(e.stdout, p)
		if c.hexOut {
			b, all, err := p.region(maxHex)
			if err != nil {
				// A file that is missing or unreadable has no bytes to
				// show; the problem above says so.
				fmt.Fprintf(e.stdout, "  (no bytes to show: %v)\n", err)
				continue
			}
			fmt.Fprintf(e.stdout, "  %d bytes from offset %d:\n", len(b), p.Offset)
			fmt.Fprint(e.stdout, indent(hex.Dump(b)))
			if int64(len(b)) < all {
				fmt.Fprintf(e.stdout, "  ... %d more bytes\n", all-int64(len(b)))
			}
		}
	}
	if e.json {
		if frames == nil {
			frames = []frameJSON{}
		}
		if err := cli.WriteJSON(e.stdout, frames); err != nil {
			return err
		}
	}
	if bad {
		return cli.ErrCorruptFound
	}
	return nil
}

func printFrame(e *env, fr frameJSON) {
	if fr.Marker {
		fmt.Fprintf(e.stdout, "%s @%d: sync marker, %d bytes: the first %d bytes were synced\n", fr.File, fr.Offset, fr.Size, fr.Synced)
	} else {
		fmt.Fprintf(e.stdout, "%s @%d: version %d, %s, %d bytes, %d entries\n", fr.File, fr.Offset, fr.Version, fr.Timestamp, fr.Size, len(fr.Entries))
	}
	if fr.Hex != "" {
		fmt.Fprint(e.stdout, indent(fr.Hex))
	}
	for _, en := range fr.Entries {
		val := "(deleted)"
		switch {
		case en.Error != "":
			val = "ERROR " + en.Error
		case en.Value != nil:
			val = en.Value.String()
		}
		fmt.Fprintf(e.stdout, "  %s %s/%s  @%d %s %d->%d bytes  %s\n", en.Kind, en.Run, en.Key, en.ValueOffset, en.Codec, en.Stored, en.Raw, val)
	}
}

// indent puts two spaces before every line of s.
func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}
