package main

import (
	"fmt"

	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/kv"
)

// statsCmd is the stats command and its flags (its help is in commands, main.go).
type statsCmd struct {
	*env
}

func (c *statsCmd) run(args []string) error {
	e := c.env
	if err := needArgs(args, 0, 0, "no arguments"); err != nil {
		return err
	}
	return e.withDB(true, func(db *kv.DB) error {
		st := db.Stats()
		if e.json {
			return cli.WriteJSON(e.stdout, map[string]any{
				"segments": st.Segments, "live_bytes": st.LiveBytes, "dead_bytes": st.DeadBytes,
				"keys": st.Keys, "versions": st.Versions, "last_version": st.LastVersion,
			})
		}
		fmt.Fprintf(e.stdout, "%s: %d segment(s), %d bytes live, %d dead; %d live keys, %d versions; last version %d\n",
			e.dir, st.Segments, st.LiveBytes, st.DeadBytes, st.Keys, st.Versions, st.LastVersion)
		return nil
	})
}
