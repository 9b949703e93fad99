package main

import (
	"cmp"
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/strata-kv/strata/compaction"
	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/cli"
	"github.com/strata-kv/strata/segment"
)

// runStats counts a run's keys, versions and bytes.
type runStats struct {
	Run      string `json:"run"`
	Keys     int    `json:"keys"`
	LiveKeys int    `json:"live_keys"`
	Versions int    `json:"versions"`
	Bytes    int64  `json:"bytes"`
}

type keyStats struct {
	Run      string `json:"run"`
	Key      string `json:"key"`
	Versions int    `json:"versions"`
	Bytes    int64  `json:"bytes"`
}

type statsReport struct {
	Segments int   `json:"segments"`
	Files    int64 `json:"file_bytes"`
	Keys     int   `json:"keys"`
	LiveKeys int   `json:"live_keys"`
	Versions int   `json:"versions"`
	// LiveBytes: on-disk bytes of entries holding the newest version of
	// a live key. HistoryBytes: older versions and tombstones, kept for
	// History and time travel (compaction may drop them under a
	// Retention). DeadBytes: bytes no read can use (a torn tail, damaged
	// regions).
	LiveBytes    int64 `json:"live_bytes"`
	HistoryBytes int64 `json:"history_bytes"`
	DeadBytes    int64 `json:"dead_bytes"`
	// UnusedBytes: zeros that end the newest segment, space reserved for
	// writes to come (while a database has it open, or after a crash).
	UnusedBytes int64 `json:"unused_bytes"`
	// PerSegment splits the bytes by segment file.
	PerSegment []segmentStats `json:"per_segment"`
	Runs       []runStats     `json:"runs"`
	Largest    []keyStats     `json:"largest_keys"`
	Problems   []problem      `json:"problems"`
}

// segmentStats is what one segment file holds (see statsReport for the
// kinds of bytes). Droppable, with -keep-versions or -keep-for: the
// bytes of versions that Retention would let compaction drop, the
// database's Stats().DeadBytes.
type segmentStats struct {
	File         string `json:"file"`
	Size         int64  `json:"size"`
	LiveBytes    int64  `json:"live_bytes"`
	HistoryBytes int64  `json:"history_bytes"`
	DeadBytes    int64  `json:"dead_bytes"`
	Droppable    int64  `json:"droppable_bytes"`
}

const largestN = 10

// statsCmd is the stats command and its flags (its help is in commands, main.go).
type statsCmd struct {
	*env
	keepVersions int
	keepFor      time.Duration
}

func (c *statsCmd) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.keepVersions, "keep-versions", 0, "count per segment the bytes a Retention{KeepVersions: N} lets compaction drop")
	fs.DurationVar(&c.keepFor, "keep-for", 0, "the same for Retention{KeepFor: D} (with -keep-versions: a version is kept if either keeps it)")
}

func (c *statsCmd) run(args []string) error {
	e := c.env
	args, err := e.withDir(args, 0, "[DIR]")
	if err != nil {
		return err
	}
	if c.keepVersions < 0 || c.keepFor < 0 {
		return cli.Usagef("-keep-versions and -keep-for must not be negative")
	}
	pol := compaction.Policy{KeepVersions: c.keepVersions, KeepFor: c.keepFor, Now: time.Now().UnixMicro(), Pin: math.MaxUint64}
	type keyState struct {
		keyStats
		newestBytes int64
		newestSeg   *segFile
		newestV     uint64
		tl          timeline // entries and what run events stand for
		live        bool
		recs        []index.Record // newest last; with a policy only
		sizes       []int64        // the entry bytes of each of recs
	}
	keys := map[[2]string]*keyState{}
	var events []runEvent
	framed := map[*segFile]int64{}
	entries := map[*segFile]int64{}
	segIDs := map[uint32]*segFile{}
	segs, problems, bad, err := e.scanAll(args[0], true, func(sf *segFile, off int64, f *segment.Frame) error {
		framed[sf] += int64(f.Size)
		segIDs[sf.ID] = sf
		return f.Entries(func(en segment.Entry) error {
			id := [2]string{string(en.Run), string(en.Key)}
			k := keys[id]
			if k == nil {
				k = &keyState{keyStats: keyStats{Run: id[0], Key: id[1]}}
				keys[id] = k
			}
			size := int64(en.Size)
			k.Versions++
			k.Bytes += size
			k.newestBytes, k.newestSeg, k.newestV = size, sf, f.Version
			k.live = en.Op == segment.OpPut
			k.tl.insert(f.Version, k.live)
			if id[0] == segment.EventRun {
				if ev, err := segment.ParseEvent(en.Key); err == nil {
					events = append(events, runEvent{v: f.Version, ev: ev})
				}
			}
			entries[sf] += size
			if !pol.KeepsAll() {
				r := index.Record{Version: f.Version, Timestamp: f.Timestamp, Segment: sf.ID}
				if !k.live {
					r.Flags = index.FlagTombstone
				}
				k.recs = append(k.recs, r)
				k.sizes = append(k.sizes, size)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	// What run events did: a key dropped is not live, a forked one is.
	byRun := map[string]map[string]*timeline{}
	for id, k := range keys {
		if byRun[id[0]] == nil {
			byRun[id[0]] = map[string]*timeline{}
		}
		byRun[id[0]][id[1]] = &k.tl
	}
	applyEvents(events, byRun, func(run, key string) *timeline {
		k := &keyState{keyStats: keyStats{Run: run, Key: key}}
		keys[[2]string{run, key}] = k
		if byRun[run] == nil {
			byRun[run] = map[string]*timeline{}
		}
		byRun[run][key] = &k.tl
		return &k.tl
	})
	for _, k := range keys {
		// Live from its own newest entry, or through a fork's link
		// (no bytes of its own then).
		k.live = k.tl.live()
		if k.live && k.tl[len(k.tl)-1]>>1 != k.newestV {
			k.newestBytes = 0
		}
	}
	per := map[*segFile]*segmentStats{}
	for _, sf := range segs {
		per[sf] = &segmentStats{File: shortName(sf.Path), Size: sf.Size, HistoryBytes: entries[sf],
			DeadBytes: sf.Size - framed[sf] - segment.HeaderSize - sf.Unused}
	}
	for _, k := range keys {
		if k.live && k.newestBytes > 0 {
			per[k.newestSeg].LiveBytes += k.newestBytes
			per[k.newestSeg].HistoryBytes -= k.newestBytes
		}
		if len(k.recs) > 0 {
			slices.Reverse(k.recs)
			slices.Reverse(k.sizes)
			if i, _ := pol.Horizon(k.recs, nil); i >= 0 {
				for j, r := range k.recs[i:] {
					per[segIDs[r.Segment]].Droppable += k.sizes[i+j]
				}
			}
		}
	}
	rep := statsReport{Segments: len(segs), Files: totalSize(segs), Problems: append([]problem{}, problems...)}
	runs := map[string]*runStats{}
	var all []keyStats
	var entryBytes int64
	for _, k := range keys {
		if internalRun(k.Run) {
			entryBytes += k.Bytes // Strata's own records: history bytes, no run's
			continue
		}
		r := runs[k.Run]
		if r == nil {
			r = &runStats{Run: k.Run}
			runs[k.Run] = r
		}
		r.Keys++
		r.Versions += k.Versions
		r.Bytes += k.Bytes
		rep.Keys++
		rep.Versions += k.Versions
		entryBytes += k.Bytes
		if k.live {
			r.LiveKeys++
			rep.LiveKeys++
			rep.LiveBytes += k.newestBytes
		}
		all = append(all, k.keyStats)
	}
	rep.HistoryBytes = entryBytes - rep.LiveBytes
	// Headers, frame overhead and sync markers are neither; what
	// lies outside every valid frame is dead.
	for _, sf := range segs {
		rep.UnusedBytes += sf.Unused
	}
	for _, sf := range segs {
		rep.DeadBytes += per[sf].DeadBytes
		rep.PerSegment = append(rep.PerSegment, *per[sf])
	}
	for _, r := range runs {
		rep.Runs = append(rep.Runs, *r)
	}
	slices.SortFunc(rep.Runs, func(a, b runStats) int { return cmp.Compare(a.Run, b.Run) })
	slices.SortFunc(all, func(a, b keyStats) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Run, b.Run), cmp.Compare(a.Key, b.Key))
	})
	rep.Largest = all[:min(largestN, len(all))]
	if rep.Runs == nil {
		rep.Runs = []runStats{}
	}
	if rep.Largest == nil {
		rep.Largest = []keyStats{}
	}
	if e.json {
		if err := cli.WriteJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		printStats(e, args[0], rep)
	}
	if bad {
		return cli.ErrCorruptFound
	}
	return nil
}

func printStats(e *env, dir string, rep statsReport) {
	w := e.stdout
	fmt.Fprintf(w, "%s: %d segments, %d bytes\n", dir, rep.Segments, rep.Files)
	fmt.Fprintf(w, "keys %d (%d live), versions %d\n", rep.Keys, rep.LiveKeys, rep.Versions)
	fmt.Fprintf(w, "bytes: live %d (newest versions of live keys), history %d (older versions, tombstones), dead %d (torn or damaged), unused %d (reserved for writes)\n\n",
		rep.LiveBytes, rep.HistoryBytes, rep.DeadBytes, rep.UnusedBytes)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SEGMENT\tSIZE\tLIVE\tHISTORY\tDEAD\tDROPPABLE\t")
	for _, p := range rep.PerSegment {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", p.File, p.Size, p.LiveBytes, p.HistoryBytes, p.DeadBytes, p.Droppable)
	}
	tw.Flush()
	fmt.Fprintln(w, "DROPPABLE: bytes -keep-versions / -keep-for would let compaction drop (0 without them)")
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tKEYS\tLIVE\tVERSIONS\tBYTES")
	for _, r := range rep.Runs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", r.Run, r.Keys, r.LiveKeys, r.Versions, r.Bytes)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nlargest keys:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tKEY\tVERSIONS\tBYTES")
	for _, k := range rep.Largest {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", k.Run, k.Key, k.Versions, k.Bytes)
	}
	tw.Flush()
	for _, p := range rep.Problems {
		fmt.Fprintln(w, p)
	}
}

func shortName(path string) string { return filepath.Base(path) }
