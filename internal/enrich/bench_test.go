package enrich

import (
	"strconv"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/enrich/enrichtest"
	"github.com/accord-events/accord/internal/pipeline"
)

// BenchmarkUserAgentUncached: parsing a user agent the cache does not
// hold (every iteration a new one): the ua-parser rules run in full.
func BenchmarkUserAgentUncached(b *testing.B) {
	ua, err := newUserAgents(1)
	if err != nil {
		b.Fatal(err)
	}
	budget := 1 << 62
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		ua.context(chromeUA+" build/"+strconv.Itoa(i), &budget)
	}
}

// BenchmarkUserAgentCached: a user agent the cache holds.
func BenchmarkUserAgentCached(b *testing.B) {
	ua, err := newUserAgents(DefaultCacheSize)
	if err != nil {
		b.Fatal(err)
	}
	budget := 1 << 62
	ua.context(chromeUA, &budget)
	b.ReportAllocs()
	for b.Loop() {
		ua.context(chromeUA, &budget)
	}
}

func BenchmarkGeo(b *testing.B) {
	g, err := openGeo(enrichtest.WriteCityDB(b, enrichtest.Cities))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	b.ReportAllocs()
	for b.Loop() {
		if g.context("81.2.69.160", lookedUpStored) == nil {
			b.Fatal("not found")
		}
	}
}

func BenchmarkCampaign(b *testing.B) {
	const page = "https://shop.example.com/p/42?utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale&gclid=Cj0K"
	b.ReportAllocs()
	for b.Loop() {
		campaign(page)
	}
}

func BenchmarkReferer(b *testing.B) {
	r := newReferers(RefererOptions{})
	b.ReportAllocs()
	for b.Loop() {
		r.context("https://www.google.co.uk/search?q=red+shoes", "https://shop.example.com/p/42")
	}
}

// BenchmarkUserAgentUncachedLong: the worst a user agent can cost, 512
// bytes (what is parsed of a longer one) the cache does not hold.
func BenchmarkUserAgentUncachedLong(b *testing.B) {
	ua, err := newUserAgents(1)
	if err != nil {
		b.Fatal(err)
	}
	budget := 1 << 62
	long := chromeUA + " " + strings.Repeat("(a(b[c{d", 64)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		ua.context(strconv.Itoa(i)+long, &budget)
	}
}

// BenchmarkValidateContexts: checking the four contexts of an event with
// every enrichment on against their contracts, as the stage does before
// attaching them (the contract package's allocation-free path).
func BenchmarkValidateContexts(b *testing.B) {
	o := DefaultOptions()
	o.UserAgent.Enabled, o.Campaign.Enabled, o.Referer.Enabled = true, true, true
	o.Geo = GeoOptions{Enabled: true, Database: enrichtest.WriteCityDB(b, enrichtest.Cities)}
	s, err := New(o, Policy{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	evs := allEnrichmentsEvent()
	s.Process(pipeline.Request{}, evs)
	contexts := evs[0].Envelope.Contexts
	if len(contexts) != 4 {
		b.Fatalf("%d contexts, want 4", len(contexts))
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range contexts {
			if !s.valid(c.Schema, c.Data) {
				b.Fatal(c.Schema)
			}
		}
	}
}
