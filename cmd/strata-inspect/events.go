package main

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/strata-kv/strata/kv"
	"github.com/strata-kv/strata/segment"
)

// internalRun reports whether run is one of Strata's own (run events,
// metadata): their entries take bytes, but they are no run of the API.
func internalRun(run string) bool { return strings.HasPrefix(run, "\x00") }

// describeEvent returns what the run event whose key is key did, as the
// value dump and history show for it.
func describeEvent(key []byte) (kv.Value, error) {
	ev, err := segment.ParseEvent(key)
	if err != nil {
		return kv.Value{}, err
	}
	if ev.Kind == segment.EventDrop {
		return kv.String(fmt.Sprintf("(run event: every live key of run %q deleted)", ev.Run)), nil
	}
	return kv.String(fmt.Sprintf("(run event: run %q forked from run %q as of version %d)", ev.Run, ev.Src, ev.At)), nil
}

// timeline is a key's versions, oldest first, each version<<1 | 1 if the
// key is live from it on: its entries, and the records run events stand
// for (a DropRun's deletions, a fork's links).
type timeline []uint64

func (t timeline) liveAt(v uint64) bool {
	i := sort.Search(len(t), func(i int) bool { return t[i]>>1 > v }) - 1
	return i >= 0 && t[i]&1 == 1
}

func (t timeline) live() bool { return len(t) > 0 && t[len(t)-1]&1 == 1 }

func (t *timeline) insert(v uint64, live bool) {
	x := v << 1
	if live {
		x |= 1
	}
	i := sort.Search(len(*t), func(i int) bool { return (*t)[i]>>1 > v })
	*t = slices.Insert(*t, i, x)
}

// runEvent is a run event met in a scan, at its version.
type runEvent struct {
	v  uint64
	ev segment.Event
}

// applyEvents folds events into the timelines of keys (by run, then
// key), in version order, as the database does: a drop deletes the keys
// of its run live just before it, a fork makes each key of its source
// live at its version live in its destination (newKey adds a key the
// destination never had).
func applyEvents(events []runEvent, byRun map[string]map[string]*timeline, newKey func(run, key string) *timeline) {
	slices.SortFunc(events, func(a, b runEvent) int { return cmp.Compare(a.v, b.v) })
	for _, e := range events {
		switch e.ev.Kind {
		case segment.EventDrop:
			for _, t := range byRun[e.ev.Run] {
				if t.liveAt(e.v - 1) {
					t.insert(e.v, false)
				}
			}
		case segment.EventFork:
			for key, t := range byRun[e.ev.Src] {
				if !t.liveAt(e.ev.At) {
					continue
				}
				dt := byRun[e.ev.Run][key]
				if dt == nil {
					dt = newKey(e.ev.Run, key)
				}
				dt.insert(e.v, true)
			}
		}
	}
}
