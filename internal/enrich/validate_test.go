package enrich

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/enrich/enrichtest"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
)

// campaignPage is a page URL the campaign enrichment finds a campaign in.
const campaignPage = "https://shop.example.com/p/42?utm_source=newsletter&utm_campaign=spring"

func campaignEvent() []pipeline.Event {
	return []pipeline.Event{{Envelope: event.Envelope{Valid: true, Protocol: "snowplow",
		Attributes: json.RawMessage(`{"url":"` + campaignPage + `"}`), Source: event.Source{IP: "81.2.69.160"}}, Input: &event.Input{}}}
}

// TestContextThatDoesNotValidateIsDropped: a context an enrichment builds
// that its contract refuses (a bug in Accord, simulated here by holding the
// campaign enrichment to a contract its context cannot meet) is dropped:
// the event stays valid with its other enrichments, the stage counts it,
// and the log says so once per interval, naming the key and where the
// validator found the problem but not the value.
func TestContextThatDoesNotValidateIsDropped(t *testing.T) {
	o := DefaultOptions()
	o.Campaign.Enabled = true
	o.Geo = GeoOptions{Enabled: true, Database: enrichtest.WriteCityDB(t, enrichtest.Cities)}
	var logs bytes.Buffer
	s, err := New(o, Policy{}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stricter, err := contract.Compile([]byte(`{
		"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
		"self": {"vendor": "dev.accord", "name": "campaign", "format": "jsonschema", "version": "1-0-0"},
		"type": "object", "properties": {"source": {"type": "string", "maxLength": 3}}}`), contract.Key{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	s.contracts[KeyCampaign] = stricter

	for round := 1; round <= 3; round++ {
		evs := campaignEvent()
		s.Process(pipeline.Request{}, evs)
		env := evs[0].Envelope
		if !env.Valid || env.Failure != nil {
			t.Fatalf("round %d: the event failed (valid %v, %v): Accord's own bug must not fail it", round, env.Valid, env.Failure)
		}
		if len(env.Contexts) != 1 || env.Contexts[0].Schema != KeyGeolocation {
			t.Fatalf("round %d: contexts %+v, want the geolocation one only", round, env.Contexts)
		}
		if got := s.Invalid(); got != uint64(round) {
			t.Errorf("round %d: Invalid() = %d, want %d", round, got, round)
		}
	}
	text := logs.String()
	if n := strings.Count(text, "\n"); n != 1 {
		t.Errorf("%d log lines for 3 dropped contexts within the interval, want 1:\n%s", n, text)
	}
	for _, want := range []string{"level=ERROR", "key=" + KeyCampaign, "instance_path=/source", "keyword=maxLength", "dropped_since_start=1"} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "newsletter") {
		t.Errorf("log quotes the context's value, which comes from the sender:\n%s", text)
	}

	// Once the interval has passed, the next one is logged again.
	s.loggedAt.Store(s.loggedAt.Load() - int64(invalidLogEvery) - 1)
	s.Process(pipeline.Request{}, campaignEvent())
	if n := strings.Count(logs.String(), "\n"); n != 2 {
		t.Errorf("%d log lines after the interval, want 2:\n%s", n, logs.String())
	}
}

// TestContextsValidateWithoutAllocating: every context the enrichments
// attach is checked against its shipped contract on the contract package's
// fast path, which allocates nothing; a contract edited to use a keyword
// the fast path leaves to the full validator fails here.
func TestContextsValidateWithoutAllocating(t *testing.T) {
	o := DefaultOptions()
	o.UserAgent.Enabled, o.Campaign.Enabled, o.Referer.Enabled = true, true, true
	o.Geo = GeoOptions{Enabled: true, Database: enrichtest.WriteCityDB(t, enrichtest.Cities)}
	s, err := New(o, Policy{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs := allEnrichmentsEvent()
	s.Process(pipeline.Request{}, evs)
	if got := len(evs[0].Envelope.Contexts); got != 4 {
		t.Fatalf("%d contexts, want all 4: %+v", got, evs[0].Envelope.Contexts)
	}
	for _, c := range evs[0].Envelope.Contexts {
		if allocs := testing.AllocsPerRun(10, func() {
			if !s.valid(c.Schema, c.Data) {
				t.Fatalf("%s does not validate: %s", c.Schema, c.Data)
			}
		}); allocs != 0 {
			t.Errorf("validating %s allocates %.0f times, want 0 (the fast path)", c.Schema, allocs)
		}
	}
	if s.Invalid() != 0 {
		t.Errorf("Invalid() = %d, want 0", s.Invalid())
	}
}

// allEnrichmentsEvent is an event every enrichment finds something in.
func allEnrichmentsEvent() []pipeline.Event {
	return []pipeline.Event{{Envelope: event.Envelope{Valid: true, Protocol: "snowplow",
		Attributes: json.RawMessage(`{"url":"` + campaignPage + `","refr":"https://www.google.co.uk/search?q=red+shoes","ua":"` + chromeUA + `"}`),
		Source:     event.Source{IP: "81.2.69.160"}}, Input: &event.Input{}}}
}
