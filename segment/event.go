package segment

import (
	"errors"
	"strconv"
	"strings"
)

// EventRun is the reserved run that holds run events: one entry per
// DropRun or ForkRun, in place of one entry per key of the run. No run of
// the API can be named so (run names hold no NUL byte), and it sorts
// before every other run, so a hint file lists its entries first.
//
// An event is a put with an empty value whose key says what happened:
//
//	"d" run                          every key of run live just before the
//	                                 entry's version is deleted at it
//	"f" dst NUL src NUL at (decimal) each key of src live at version at
//	                                 becomes, at the entry's version, a
//	                                 link in dst to src's versions up to at
//
// Recovery replays events in version order with the entries of the runs
// they change; compaction never drops an event (the versions it stands
// for may lie in other segments).
const EventRun = "\x00"

// Event kinds.
const (
	EventDrop = 'd'
	EventFork = 'f'
)

// Event is a run event, decoded from its key.
type Event struct {
	Kind byte   // EventDrop or EventFork
	Run  string // the run dropped, or the fork's destination
	Src  string // the fork's source
	At   uint64 // the version the fork reads its source at
}

// ErrBadEvent: an entry of EventRun whose key is no event.
var ErrBadEvent = errors.New("segment: malformed run event")

// Key returns the event's key in EventRun.
func (e Event) Key() string {
	if e.Kind == EventDrop {
		return "d" + e.Run
	}
	return "f" + e.Run + "\x00" + e.Src + "\x00" + strconv.FormatUint(e.At, 10)
}

// ParseEvent decodes the key of an entry of EventRun.
func ParseEvent(key []byte) (Event, error) {
	if len(key) < 2 {
		return Event{}, ErrBadEvent
	}
	body := string(key[1:])
	switch key[0] {
	case EventDrop:
		if strings.IndexByte(body, 0) >= 0 {
			return Event{}, ErrBadEvent
		}
		return Event{Kind: EventDrop, Run: body}, nil
	case EventFork:
		parts := strings.Split(body, "\x00")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[0] == parts[1] {
			return Event{}, ErrBadEvent
		}
		at, err := strconv.ParseUint(parts[2], 10, 64)
		if err != nil || at == 0 || strconv.FormatUint(at, 10) != parts[2] {
			return Event{}, ErrBadEvent
		}
		return Event{Kind: EventFork, Run: parts[0], Src: parts[1], At: at}, nil
	}
	return Event{}, ErrBadEvent
}
