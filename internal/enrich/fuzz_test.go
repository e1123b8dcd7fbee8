package enrich

import (
	"encoding/json"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
)

// FuzzRefererAndCampaign: whatever the page URL and referrer, the referer
// and campaign enrichments do not panic, and what they attach is valid
// against its shipped contract.
func FuzzRefererAndCampaign(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://www.google.co.uk/search?q=red+shoes", "https://shop.example/?utm_source=a&gclid=1"},
		{"https://shop.example/basket", "https://shop.example/p#x"},
		{"HTTPS://User:pw@Mail.Google.com:443/mail?x=%zz", "/relative?utm_medium=%E2%82%AC&utm_term=+"},
		{"http://[::1]:80/", "?utm_campaign=" + string([]byte{0xff, 0xfe})},
		{"//t.co/x", "https://a.example/?utm_source=&fbclid=f&msclkid=m"},
		{"https://a..b/", "https://a.example/?&&&=&utm_id=%"},
		{"https://google.com.evil.example/?q=1", ""},
		{"javascript://x", "https://x.example/?li_fat_id=" + string(make([]byte, 300))},
	} {
		f.Add(seed[0], seed[1])
	}
	set := shipped(f)
	r := newReferers(RefererOptions{InternalDomains: []string{"pay.example"}})
	f.Fuzz(func(t *testing.T, referrer, page string) {
		if data := r.context(referrer, page); data != nil {
			checkContext(t, set, KeyReferer, data)
		}
		if data := campaign(page); data != nil {
			checkContext(t, set, KeyCampaign, data)
		}
	})
}

// FuzzStageAttributes: whatever a Snowplow or Segment record's attributes
// hold, the stage does not panic and attaches only valid contexts.
func FuzzStageAttributes(f *testing.F) {
	for _, seed := range []string{
		`{"url":"https://a.example/?utm_source=x","refr":"https://bing.com/?q=y","ua":"Mozilla/5.0 Firefox/1"}`,
		`{"context":{"page":{"url":"https://a.example/?gclid=1","referrer":"https://t.co/"},"userAgent":"x"}}`,
		`{"url":"\u0068ttps://a.example/?utm_term=\"q\"","ua":"\ud83d\ude00"}`,
		`{"context":[1,2],"url":null,"refr":{}}`,
		`not json`,
		``,
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	set := shipped(f)
	o := DefaultOptions()
	o.UserAgent.Enabled, o.Campaign.Enabled, o.Referer.Enabled, o.UserAgent.CacheSize = true, true, true, 64
	s, err := New(o, Policy{}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, attrs string, isSnowplow bool) {
		proto := protocolSegment
		if isSnowplow {
			proto = protocolSnowplow
		}
		evs := []pipeline.Event{{Envelope: event.Envelope{Valid: true, Protocol: proto, Attributes: json.RawMessage(attrs)}, Input: &event.Input{}}}
		s.Process(pipeline.Request{}, evs)
		for _, c := range evs[0].Envelope.Contexts {
			checkContext(t, set, c.Schema, c.Data)
		}
		// The stage drops a context that does not validate: that it
		// never had to is what says every context built was valid.
		if n := s.Invalid(); n != 0 {
			t.Fatalf("the stage dropped %d contexts that did not validate, for attributes %q", n, attrs)
		}
	})
}
