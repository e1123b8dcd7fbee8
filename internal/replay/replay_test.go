package replay

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/sink"
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
	return func(_ context.Context, fn func(Record) error) error {
		for _, r := range recs {
			if err := fn(Record{Envelope: r}); err != nil {
				return err
			}
		}
		return nil
	}
}

// collecting is a target that keeps what it is given.
type collecting struct {
	name string
	sel  sink.Selection
	got  []*event.Envelope
	fail error
}

func (c *collecting) target() Target {
	return Target{Name: c.name, Records: c.sel, Write: func(_ context.Context, b []*event.Envelope) error {
		if c.fail != nil {
			return c.fail
		}
		c.got = append(c.got, b...)
		return nil
	}}
}

func ids(recs []*event.Envelope) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.EventID)
	}
	return out
}

func TestRunReplaysWhatCanBeReplayed(t *testing.T) {
	recs := []*event.Envelope{
		failed("a", event.SchemaViolation, `{"total": 10}`),
		failed("b", event.SchemaNotFound, `{"total": "x"}`),
		failed("c", event.PayloadFormatViolation, ""),
	}
	all := &collecting{name: "all", sel: sink.All}
	rep, err := Run(context.Background(), source(recs...), testPipeline(t), []Target{all.target()}, Options{BatchSize: 2, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Read != 3 || rep.Replayed != 2 || rep.Good != 1 || rep.Failed != 1 || len(rep.Skipped) != 1 || rep.Written["all"] != 1 {
		t.Fatalf("report %+v", rep)
	}
	// The record that still fails is held by every sink selecting failed
	// records already: it is not stored again.
	if len(all.got) != 1 {
		t.Fatalf("delivered %v; want only a, now good", ids(all.got))
	}
	a := all.got[0]
	if !a.Valid || a.EventID != "a" || a.RequestID != "req-a" || !a.CollectedAt.Equal(collected) ||
		!a.EventTime.Equal(recs[0].EventTime.Time) || !a.CreatedAt.Equal(recs[0].CreatedAt.Time) ||
		!a.ReplayedAt.Equal(now) || a.Namespace != "shop" || a.Identity.UserID != "u1" || a.Source.IP != "192.0.2.9" || a.Collector.Name != "replayer" {
		t.Errorf("replayed record %s", a.AppendJSON(nil))
	}
}

func TestRunDryRunDeliversNothingAndErrorsStop(t *testing.T) {
	p := testPipeline(t)
	down := &collecting{name: "down", sel: sink.All, fail: errors.New("sink down")}
	rep, err := Run(context.Background(), source(failed("a", event.SchemaViolation, `{"total": 1}`)), p, []Target{down.target()}, Options{BatchSize: 10, DryRun: true, Now: now})
	if err != nil || rep.Good != 1 || !rep.DryRun || rep.Written["down"] != 1 {
		t.Errorf("dry run: %+v, %v", rep, err)
	}
	_, err = Run(context.Background(), source(failed("a", event.SchemaViolation, `{"total": 1}`)), p, []Target{down.target()}, Options{BatchSize: 10, Now: now})
	if err == nil || err.Error() != "deliver replayed records: sink down" {
		t.Errorf("a failing sink: %v", err)
	}
}

func TestRunReplaysUnplannedEventsOnceAPlanCoversThem(t *testing.T) {
	rec := failed("u", event.UnplannedEvent, `{"total": 3}`)
	rec.Schema, rec.Vendor, rec.Name, rec.Version = "", "", "", ""
	all := &collecting{name: "all", sel: sink.All}
	rep, err := Run(context.Background(), source(rec), testPipeline(t), []Target{all.target()}, Options{BatchSize: 10, Now: now})
	if err != nil || rep.Replayed != 0 || len(rep.Skipped) != 1 {
		t.Fatalf("without a plan: %+v, %v; want it skipped", rep, err)
	}
	plan := func(*event.Envelope) string { return "iglu:com.acme/order/jsonschema/1-0-0" }
	rep, err = Run(context.Background(), source(rec), testPipeline(t), []Target{all.target()}, Options{BatchSize: 10, Now: now, Plan: plan})
	if err != nil || rep.Good != 1 || len(all.got) != 1 || all.got[0].Schema != "iglu:com.acme/order/jsonschema/1-0-0" || !all.got[0].Valid {
		t.Fatalf("with a plan: %+v, %v, %+v", rep, err, all.got)
	}
}

// Each replayed record goes to the sinks that lack it: a record now good to
// those selecting good records; a dead letter whose validity is unchanged
// back to its own sink only, one now good to every sink selecting good.
func TestRunWritesEachSinkWhatItLacks(t *testing.T) {
	good := &collecting{name: "good", sel: sink.Good}
	failedOnly := &collecting{name: "failed", sel: sink.Failed}
	forward := &collecting{name: "forward", sel: sink.All}
	targets := []Target{good.target(), failedOnly.target(), forward.target()}
	stillGood := failed("dl-good", event.SchemaViolation, `{"total": 5}`)
	stillGood.Valid, stillGood.Failure = true, nil
	stillFailed := failed("dl-failed", event.SchemaViolation, `{"total": "x"}`)
	nowGood := failed("dl-now-good", event.SchemaViolation, `{"total": 6}`)
	src := func(_ context.Context, fn func(Record) error) error {
		for _, r := range []*event.Envelope{stillGood, stillFailed, nowGood} {
			if err := fn(Record{Envelope: r, DeadLetterOf: "forward"}); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := Run(context.Background(), src, testPipeline(t), targets, Options{BatchSize: 10, Now: now}); err != nil {
		t.Fatal(err)
	}
	if got := ids(good.got); !slices.Equal(got, []string{"dl-now-good"}) {
		t.Errorf("the good sink got %v; want dl-now-good only", got)
	}
	if got := ids(failedOnly.got); len(got) != 0 {
		t.Errorf("the failed sink got %v; it holds every failed record already", got)
	}
	if got := ids(forward.got); !slices.Equal(got, []string{"dl-good", "dl-failed", "dl-now-good"}) {
		t.Errorf("the dead letter's own sink got %v; want all three", got)
	}
}

// With a ledger, a replay run again writes nothing twice, and one run again
// after a sink failed part way writes only what that sink lacks.
func TestRunWithALedgerWritesNothingTwice(t *testing.T) {
	dir := t.TempDir()
	a := &collecting{name: "a", sel: sink.All}
	b := &collecting{name: "b/with slash", sel: sink.Good, fail: errors.New("down")}
	recs := []*event.Envelope{failed("x", event.SchemaViolation, `{"total": 1}`), failed("y", event.SchemaViolation, `{"total": 2}`)}
	run := func() (Report, error) {
		t.Helper()
		l, err := OpenLedger(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := l.Close(); err != nil {
				t.Error(err)
			}
		}()
		if _, err := OpenLedger(dir); !errors.Is(err, ErrReplayRunning) {
			t.Errorf("a second ledger open at once: %v; want ErrReplayRunning", err)
		}
		return Run(context.Background(), source(recs...), testPipeline(t), []Target{a.target(), b.target()}, Options{BatchSize: 10, Now: now, Ledger: l})
	}
	if _, err := run(); err == nil {
		t.Fatal("a replay with a sink down succeeded")
	}
	if len(a.got) != 2 || len(b.got) != 0 {
		t.Fatalf("after the first replay a has %v, b %v", ids(a.got), ids(b.got))
	}
	b.fail = nil
	rep, err := run()
	if err != nil {
		t.Fatal(err)
	}
	if len(a.got) != 2 || !slices.Equal(ids(b.got), []string{"x", "y"}) || rep.AlreadyWritten != 2 || rep.Written["b/with slash"] != 2 {
		t.Fatalf("after the second replay a has %v, b %v; report %+v", ids(a.got), ids(b.got), rep)
	}
	if rep, err = run(); err != nil || len(a.got) != 2 || len(b.got) != 2 || rep.AlreadyWritten != 4 || len(rep.Written) != 0 {
		t.Fatalf("a third replay: %+v, %v; a has %v, b %v", rep, err, ids(a.got), ids(b.got))
	}
}

// A ledger line a crash cut short is dropped (its records may be written
// again, at least once) and the next line starts on a line of its own.
func TestLedgerCutsATornLine(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	x := failed("x", event.SchemaViolation, `{"total": 1}`)
	if err := l.Add("s", []*event.Envelope{x}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	f, err := os.OpenFile(filepath.Join(dir, "s.ledger"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("g 12ab")
	f.Close()
	l, err = OpenLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	y := failed("y", event.SchemaViolation, `{"total": 2}`)
	if err := l.Add("s", []*event.Envelope{y}); err != nil {
		t.Fatal(err)
	}
	l2 := &Ledger{dir: dir, sinks: map[string]*sinkLedger{}}
	for _, rec := range []*event.Envelope{x, y} {
		if taken, err := l2.Taken("s", rec); err != nil || !taken {
			t.Errorf("%s taken = %v, %v after a torn line", rec.EventID, taken, err)
		}
	}
}
