package server

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A request waits for a slot among the requests and for room among the
// bodies within one wait: what it spent waiting for a slot is not given
// again to its wait for room.
func TestOneWaitForSlotAndRoom(t *testing.T) {
	q := newRequestSlots(1)
	q.wait = 50 * time.Millisecond
	room := newBodyRoom(4096, 4096)
	room.wait = time.Hour

	held := httptest.NewRequest("POST", "/events", strings.NewReader(strings.Repeat("x", 4096)))
	if took, _, err := q.take(held); !took || err != nil {
		t.Fatalf("the first request took no slot: %v", err)
	}
	h, err := room.reserve(held, time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	next := httptest.NewRequest("POST", "/events", strings.NewReader(strings.Repeat("x", 4096)))
	go func() {
		time.Sleep(30 * time.Millisecond)
		q.release() // a slot frees before its wait ends; the room does not
	}()
	took, until, err := q.take(next)
	if !took || err != nil || until.IsZero() {
		t.Fatalf("the second request: slot %v, until %v, %v; want a slot after a wait", took, until, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := room.reserve(next, until)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errBusy) {
			t.Fatalf("reserve: %v; want errBusy", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait for room went on past what was left of the request's one wait")
	}
	room.release(&h)
}
