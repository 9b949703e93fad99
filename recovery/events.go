package recovery

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/segment"
)

// ApplyEvent adds to ix what the run event whose key is key (an entry of
// segment.EventRun, of version v committed at ts) stands for: a deletion
// of each live key of the run dropped, or a link in the fork's
// destination to each key of its source live at the fork's version. The
// commit pipeline calls it as it adds the event's entry, and recovery as
// it replays the events in version order.
func ApplyEvent(ix *index.Index, key []byte, v uint64, ts int64) error {
	ev, err := segment.ParseEvent(key)
	if err != nil {
		return fmt.Errorf("version %d: %w", v, err)
	}
	switch ev.Kind {
	case segment.EventDrop:
		_, err = ix.DeleteRun(ev.Run, v, ts)
	default:
		_, err = ix.ForkRun(ev.Src, ev.Run, ev.At, v, ts)
	}
	if err != nil {
		return fmt.Errorf("run event of version %d: %w", v, err)
	}
	return nil
}

// events holds back, during the merge of the hints, the entries an event
// must come before or after: the events come first in the merge (their
// run sorts first); an entry of a run an event changes (the run dropped,
// the fork's destination) is held back if its version is above that
// run's first event, and replayed after the merge with the events, in
// version order.
type events struct {
	list  []event
	first map[string]uint64 // run changed -> its first event's version
	held  []heldEntry
}

type event struct {
	key []byte
	v   uint64
	ts  int64
}

type heldEntry struct {
	run, key string
	rec      index.Record
}

// note takes note of an entry of segment.EventRun.
func (e *events) note(key []byte, v uint64, ts int64) error {
	ev, err := segment.ParseEvent(key)
	if err != nil {
		return err
	}
	e.list = append(e.list, event{key: slices.Clone(key), v: v, ts: ts})
	if e.first == nil {
		e.first = map[string]uint64{}
	}
	if f, ok := e.first[ev.Run]; !ok || v < f {
		e.first[ev.Run] = v
	}
	return nil
}

// hold reports whether the entry of version v of (run, key) is held back,
// and holds it.
func (e *events) hold(run, key []byte, r index.Record) bool {
	if len(e.first) == 0 {
		return false
	}
	if f, ok := e.first[string(run)]; !ok || r.Version < f {
		return false
	}
	e.held = append(e.held, heldEntry{run: string(run), key: string(key), rec: r})
	return true
}

// replay adds the held entries and the events to ix in version order.
func (e *events) replay(ix *index.Index) error {
	slices.SortStableFunc(e.held, func(a, b heldEntry) int { return cmp.Compare(a.rec.Version, b.rec.Version) })
	slices.SortFunc(e.list, func(a, b event) int { return cmp.Compare(a.v, b.v) })
	h := e.held
	for _, ev := range e.list {
		for len(h) > 0 && h[0].rec.Version < ev.v {
			if err := ix.Add(h[0].run, h[0].key, h[0].rec); err != nil {
				return fmt.Errorf("recovery: key %q of run %q, version %d: %w", h[0].key, h[0].run, h[0].rec.Version, err)
			}
			h = h[1:]
		}
		if err := ApplyEvent(ix, ev.key, ev.v, ev.ts); err != nil {
			return fmt.Errorf("recovery: %w", err)
		}
	}
	for _, x := range h {
		if err := ix.Add(x.run, x.key, x.rec); err != nil {
			return fmt.Errorf("recovery: key %q of run %q, version %d: %w", x.key, x.run, x.rec.Version, err)
		}
	}
	e.held = nil
	return nil
}
