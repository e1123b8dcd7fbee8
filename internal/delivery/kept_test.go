package delivery

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// Once Deliver has encoded a request's records it keeps none of them while
// it waits (for the spool's group commit, or here for the sinks), so that a
// collector with many requests in flight holds only their encoded frames.
// Records are counted once stored, those of kinds seen before (counted in
// advance) as those of a kind seen for the first time (counted after).
func TestDeliverKeepsNoRecordsWhileItWaits(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	target := &recordingSink{}
	svc := start(t, Config{Spool: sp, WaitForSinks: true}, Target{Name: "s", Records: sink.All, Sink: target, Options: fastOptions()})
	if err := svc.Deliver(context.Background(), records("seen", 3)); err != nil {
		t.Fatal(err)
	}
	target.setFail(func([]*event.Envelope) error { return errors.New("down") })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kept := make(chan weak.Pointer[event.Envelope], 1)
	done := make(chan error)
	go func() {
		recs := records("wait", 3)
		kept <- weak.Make(recs[0])
		done <- svc.Deliver(ctx, recs)
	}()
	wp := <-kept
	deadline := time.Now().Add(5 * time.Second)
	for wp.Value() != nil && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if wp.Value() != nil {
		t.Error("Deliver kept the records while it waited for the sinks")
	}
	target.setFail(nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var good, failed uint64
	for _, c := range svc.Stats().Contracts {
		good, failed = good+c.Good, failed+c.Failed
	}
	if good != 4 || failed != 2 {
		t.Errorf("counted %d good and %d failed records; want 4 and 2", good, failed)
	}
	byKind := map[string]uint64{}
	for _, k := range svc.EventCounts() {
		byKind[k.FailureType] += k.Records
	}
	if byKind[""] != 4 || byKind[string(event.SchemaViolation)] != 2 {
		t.Errorf("counted %v by failure type; want 4 good and 2 schema violations", byKind)
	}
}
