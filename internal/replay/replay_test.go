package replay

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
)

const fixedSchema = `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
 "self": {"vendor": "com.acme", "name": "order", "format": "jsonschema", "version": "1-0-0"},
 "type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}`

func testPipeline(t *testing.T) *pipeline.Pipeline {
	t.Helper()
	c, err := contract.Compile([]byte(fixedSchema), contract.Key{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.New(contract.NewSet([]*contract.Contract{c}), event.Collector{Name: "replayer"}, "default")
}

var (
	collected = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now       = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
)

// failed builds a failed record as the collector would have stored it.
func failed(id string, t event.FailureType, data string) *event.Envelope {
	r := &event.Envelope{
		EventID: id, RequestID: "req-" + id, Protocol: "selfdesc",
		CollectedAt: event.Time{Time: collected}, CreatedAt: event.Time{Time: collected.Add(-time.Minute)},
		EventTime: event.Time{Time: collected.Add(-30 * time.Second)},
		Schema:    "iglu:com.acme/order/jsonschema/1-0-0", Vendor: "com.acme", Name: "order", Version: "1-0-0",
		Namespace: "shop", Identity: event.Identity{UserID: "u1"}, Source: event.Source{IP: "192.0.2.9"},
		Failure: event.NewFailure(t, "was rejected"),
	}
	if data != "" {
		r.Payload = json.RawMessage(data)
	}
	r.SetRaw([]byte(`{"schema":"iglu:com.acme/order/jsonschema/1-0-0","data":` + data + `}`))
	return r
}

func source(recs ...*event.Envelope) Source {
	return func(_ context.Context, fn func(*event.Envelope) error) error {
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestRunReplaysWhatCanBeReplayed(t *testing.T) {
	recs := []*event.Envelope{
		failed("a", event.SchemaViolation, `{"total": 10}`),
		failed("b", event.SchemaNotFound, `{"total": "x"}`),
		failed("c", event.PayloadFormatViolation, ""),
	}
	var got []*event.Envelope
	rep, err := Run(context.Background(), source(recs...), testPipeline(t), func(_ context.Context, b []*event.Envelope) error {
		got = append(got, b...)
		return nil
	}, Options{BatchSize: 2, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Read != 3 || rep.Replayed != 2 || rep.Good != 1 || rep.Failed != 1 || len(rep.Skipped) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if len(got) != 2 {
		t.Fatalf("delivered %d records; want 2", len(got))
	}
	a := got[0]
	if !a.Valid || a.EventID != "a" || a.RequestID != "req-a" || !a.CollectedAt.Equal(collected) ||
		!a.EventTime.Equal(recs[0].EventTime.Time) || !a.CreatedAt.Equal(recs[0].CreatedAt.Time) ||
		!a.ReplayedAt.Equal(now) || a.Namespace != "shop" || a.Identity.UserID != "u1" || a.Source.IP != "192.0.2.9" || a.Collector.Name != "replayer" {
		t.Errorf("replayed record %s", a.AppendJSON(nil))
	}
	if b := got[1]; b.Valid || b.Failure.Type != event.SchemaViolation || b.EventID != "b" || !b.ReplayedAt.Equal(now) || b.Raw == "" {
		t.Errorf("record still failing %s", b.AppendJSON(nil))
	}
}

func TestRunDryRunDeliversNothingAndErrorsStop(t *testing.T) {
	p := testPipeline(t)
	deliver := func(context.Context, []*event.Envelope) error { return errors.New("sink down") }
	rep, err := Run(context.Background(), source(failed("a", event.SchemaViolation, `{"total": 1}`)), p, deliver, Options{BatchSize: 10, DryRun: true, Now: now})
	if err != nil || rep.Good != 1 || !rep.DryRun {
		t.Errorf("dry run: %+v, %v", rep, err)
	}
	_, err = Run(context.Background(), source(failed("a", event.SchemaViolation, `{"total": 1}`)), p, deliver, Options{BatchSize: 10, Now: now})
	if err == nil || err.Error() != "deliver replayed records: sink down" {
		t.Errorf("a failing sink: %v", err)
	}
}

func TestRunReplaysUnplannedEventsOnceAPlanCoversThem(t *testing.T) {
	rec := failed("u", event.UnplannedEvent, `{"total": 3}`)
	rec.Schema, rec.Vendor, rec.Name, rec.Version = "", "", "", ""
	var got []*event.Envelope
	deliver := func(_ context.Context, b []*event.Envelope) error { got = append(got, b...); return nil }
	rep, err := Run(context.Background(), source(rec), testPipeline(t), deliver, Options{BatchSize: 10, Now: now})
	if err != nil || rep.Replayed != 0 || len(rep.Skipped) != 1 {
		t.Fatalf("without a plan: %+v, %v; want it skipped", rep, err)
	}
	plan := func(*event.Envelope) string { return "iglu:com.acme/order/jsonschema/1-0-0" }
	rep, err = Run(context.Background(), source(rec), testPipeline(t), deliver, Options{BatchSize: 10, Now: now, Plan: plan})
	if err != nil || rep.Good != 1 || len(got) != 1 || got[0].Schema != "iglu:com.acme/order/jsonschema/1-0-0" || !got[0].Valid {
		t.Fatalf("with a plan: %+v, %v, %+v", rep, err, got)
	}
}
