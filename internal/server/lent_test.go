package server

import (
	"testing"
	"unsafe"

	"github.com/accord-events/accord/internal/event"
)

// The memory lent to decoders for a request's inputs: a decoder's own,
// larger memory becomes the room lent next time (up to the most a request
// may hold), and whatever a request set in it is zeroed when it is given
// back, so nothing of one request stays alive in it.
func TestLentInputs(t *testing.T) {
	l := &lentInputs{room: make([]event.Input, 1)}
	one := l.room[:1]
	one[0] = event.Input{EventID: "a"}
	l.took(one, 500)
	if l.set != 1 || len(l.room) != 1 {
		t.Fatalf("one input in the room: set %d, room %d; want 1, 1", l.set, len(l.room))
	}

	own := make([]event.Input, 100, 128)
	for i := range own {
		own[i].EventID = "b"
	}
	l.took(own, 500)
	if len(l.room) != 128 || unsafe.SliceData(l.room) != unsafe.SliceData(own) || l.set != 100 {
		t.Fatalf("a decoder's own 128 inputs: room %d, set %d; want the decoder's memory, 128, 100 set", len(l.room), l.set)
	}
	if one[0].EventID != "" {
		t.Error("the room given up still holds the input a request set in it")
	}
	putInputs(l)
	for i, in := range own {
		if in.EventID != "" {
			t.Fatalf("input %d still holds a request's event id once given back", i)
		}
	}

	l = &lentInputs{room: make([]event.Input, 4)}
	huge := make([]event.Input, 600)
	l.room[2].EventID = "c" // a decoder that began in the room, then outgrew it
	l.took(huge, 500)
	if len(l.room) != 4 || l.set != 4 {
		t.Fatalf("a decoder's own memory past the most a request holds: room %d, set %d; want the room kept, all of it to zero", len(l.room), l.set)
	}
	putInputs(l)
	if l.room[2].EventID != "" {
		t.Error("the room a decoder began in still holds what it set once given back")
	}
}
