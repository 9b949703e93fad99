package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/recovery"
	"github.com/strata-kv/strata/segment"
)

type salvageReport struct {
	Dir string `json:"dir"`
	// Damage is the first corruption found (nil: none).
	Damage *problem `json:"damage"`
	// SalvagedAt is the version the directory opens at once salvaged:
	// every commit up to it is intact.
	SalvagedAt uint64 `json:"salvaged_at"`
	// Files hold the damage or later versions: moved aside by -apply.
	Files      []string `json:"files"`
	MovedAside []string `json:"moved_aside"`
	Applied    bool     `json:"applied"`
	TornFile   string   `json:"torn_file,omitempty"`
	TornBytes  int64    `json:"torn_bytes,omitempty"`
}

// salvageCmd is the salvage command and its flags (its help is in commands, main.go).
type salvageCmd struct {
	*env
	apply bool
}

func (c *salvageCmd) flags(fs *flag.FlagSet) {
	fs.BoolVar(&c.apply, "apply", false, "repair: move the damaged segment and every later one aside (nothing is deleted) and keep the intact versions; takes the directory's lock")
}

func (c *salvageCmd) run(args []string) error {
	e := c.env
	args, err := e.withDir(args, 0, "[DIR]")
	if err != nil {
		return err
	}
	dir := args[0]
	rep := salvageReport{Dir: dir, Files: []string{}, MovedAside: []string{}}
	res, err := recovery.Recover(vfs.Default, dir, index.New(), recovery.Options{ReadOnly: true, Salvage: true})
	if err != nil {
		return err // not damage: an I/O error or a segment of another format
	}
	res.Close()
	rep.TornFile, rep.TornBytes = res.TornFile, res.TornBytes
	if res.Damage != nil {
		rep.Damage = damageOf(res.Damage)
		rep.SalvagedAt = res.SalvagedAt
		rep.Files = append(rep.Files, res.Damaged...)
	}
	if c.apply && rep.Damage != nil {
		db, err := kv.Open(dir, &kv.Options{Recovery: kv.RecoverSalvage, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		r := db.Recovery()
		if err := db.Close(); err != nil {
			return err
		}
		rep.Applied, rep.SalvagedAt = true, uint64(r.SalvagedAt)
		rep.MovedAside = append(rep.MovedAside, r.MovedAside...)
		if r.Damage == nil {
			rep.Damage = nil // repaired by someone else meanwhile
		}
	}
	if e.json {
		if err := cli.WriteJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		printSalvage(e, rep)
	}
	if rep.Damage != nil && !rep.Applied {
		return cli.ErrCorruptFound
	}
	return nil
}

func printSalvage(e *env, rep salvageReport) {
	w := e.stdout
	if rep.TornBytes > 0 {
		fmt.Fprintf(w, "WARNING torn tail: %d bytes at the end of %s (the last writes before a crash, never synced); Open cuts them\n",
			rep.TornBytes, rep.TornFile)
	}
	if rep.Damage == nil {
		fmt.Fprintf(w, "%s: nothing to salvage: it opens as it is\n", rep.Dir)
		return
	}
	fmt.Fprintf(w, "CORRUPT: %s at offset %d: %s\n", rep.Damage.Path, rep.Damage.Offset, rep.Damage.Message)
	if rep.Applied {
		fmt.Fprintf(w, "salvaged: %s now opens at version %d, the last before the damage\n", rep.Dir, rep.SalvagedAt)
		for _, f := range rep.MovedAside {
			fmt.Fprintf(w, "  moved aside: %s\n", f)
		}
		fmt.Fprintln(w, "Nothing was deleted; the intact versions of the damaged segment were kept under its name.")
		return
	}
	fmt.Fprintf(w, "salvage would open %s at version %d, the last before the damage, and move aside (never delete):\n", rep.Dir, rep.SalvagedAt)
	for _, f := range rep.Files {
		fmt.Fprintf(w, "  %s\n", filepath.Base(f))
	}
	fmt.Fprintln(w, "keeping the intact versions of the damaged segment under its name. Run again with -apply to do it.")
}

// damageOf describes the corruption recovery stopped at.
func damageOf(ce *segment.CorruptError) *problem {
	var p *recovery.Problem
	if errors.As(ce, &p) {
		d := fromProblem(p)
		return &d
	}
	// A memory fault while reading a mapping.
	return &problem{Kind: recovery.BadFrame.String(), Path: ce.File, Offset: ce.Offset, Message: ce.Err.Error()}
}
