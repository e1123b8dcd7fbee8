package sink_test

import (
	"context"
	"errors"
	"testing"

	"bytes"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/stdout"
)

func records() []*event.Envelope {
	return []*event.Envelope{
		{EventID: "g1", Valid: true},
		{EventID: "f1", Failure: event.NewFailure(event.SchemaViolation, "bad")},
		{EventID: "g2", Valid: true},
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		sel  sink.Selection
		want []string
	}{
		{sink.All, []string{"g1", "f1", "g2"}},
		{sink.Good, []string{"g1", "g2"}},
		{sink.Failed, []string{"f1"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.sel), func(t *testing.T) {
			var got []string
			for _, r := range sink.Select(records(), tc.sel) {
				got = append(got, r.EventID)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// failing is a sink that refuses every write.
type failing struct{ closed bool }

func (f *failing) Write(context.Context, []*event.Envelope) error { return errors.New("refused") }
func (f *failing) Close() error                                   { f.closed = true; return nil }

func TestSetDeliversBySelectionAndReportsTheFailingSink(t *testing.T) {
	var good, failed, onlyFailed bytes.Buffer
	all := stdout.New(&good, &failed)
	failedOnly := stdout.New(&onlyFailed, &onlyFailed)
	set := sink.NewSet([]sink.Named{{Name: "all", Records: sink.All, Sink: all}, {Name: "failures", Records: sink.Failed, Sink: failedOnly}})
	if err := set.Deliver(context.Background(), records()); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(good.Bytes(), []byte("\n")) + bytes.Count(failed.Bytes(), []byte("\n")); n != 3 {
		t.Errorf("sink 'all' got %d records, want 3", n)
	}
	if n := bytes.Count(onlyFailed.Bytes(), []byte("\n")); n != 1 || !bytes.Contains(onlyFailed.Bytes(), []byte(`"event_id":"f1"`)) {
		t.Errorf("sink 'failures' got %q, want only f1", onlyFailed.String())
	}

	bad := &failing{}
	set = sink.NewSet([]sink.Named{{Name: "store", Records: sink.All, Sink: bad}})
	err := set.Deliver(context.Background(), records())
	if err == nil || err.Error() != "sink store: refused" {
		t.Errorf("error %v, want it to name the sink", err)
	}
	if err := set.Close(); err != nil || !bad.closed {
		t.Errorf("close: %v, closed %v", err, bad.closed)
	}
}
