package enrich

import (
	"encoding/json"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
)

// Protocol names whose events carry the page, its referrer and the user
// agent in their attributes (TestProtocolNames keeps them in step with the
// protocol packages, which a stage does not import).
const (
	protocolSnowplow = "snowplow"
	protocolSegment  = "segment"
)

// fields are what the enrichments read of an event, as the earlier stages
// (privacy) left them on its record.
type fields struct {
	// pageURL is the URL of the page the event happened on.
	pageURL string
	// referrer is the URL of the page before it, when the protocol says.
	referrer string
	// userAgent is the user agent the tracker reports for the event, ""
	// when it reports none (the request's header is used then).
	userAgent string
}

// readFields reads the page URL, referrer and user agent each protocol
// carries: Snowplow's url, refr and ua fields (attributes), Segment's
// context.page.url, context.page.referrer and context.userAgent. For the
// others the page is the request's Referer header: the page that sent the
// event (or showed the pixel), whose own referrer is unknown.
func readFields(env *event.Envelope) fields {
	var f fields
	switch env.Protocol {
	case protocolSnowplow:
		f.pageURL = stringAt(env.Attributes, "url")
		f.referrer = stringAt(env.Attributes, "refr")
		f.userAgent = stringAt(env.Attributes, "ua")
	case protocolSegment:
		ctx := valueAt(env.Attributes, "context")
		f.pageURL = stringAt(ctx, "page", "url")
		f.referrer = stringAt(ctx, "page", "referrer")
		f.userAgent = stringAt(ctx, "userAgent")
	}
	if f.pageURL == "" {
		f.pageURL = env.Source.Referer
	}
	return f
}

// maxFieldBytes bounds each string read from an event: no URL or user agent
// worth enriching is longer, and every enrichment's work is then bounded
// whatever the event holds.
const maxFieldBytes = 8 << 10

// stringAt returns the string at path in the JSON object doc, "" when it is
// absent, not a string, or longer than maxFieldBytes.
func stringAt(doc []byte, path ...string) string {
	raw := valueAt(doc, path...)
	if len(raw) < 2 || raw[0] != '"' || len(raw) > maxFieldBytes+2 {
		return ""
	}
	if !hasEscape(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func hasEscape(raw []byte) bool {
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' {
			return true
		}
	}
	return false
}

// valueAt returns the raw JSON value at path (member names, compared as
// sent) in the object doc, nil when there is none. The records' attributes
// were read as JSON by their protocol; a document that is not is nil.
func valueAt(doc []byte, path ...string) []byte {
	i := jsonscan.SkipSpace(doc, 0)
	for _, name := range path {
		if i >= len(doc) || doc[i] != '{' {
			return nil
		}
		found := -1
		_, err := jsonscan.Object(doc, i, func(ks, ke, vs int) (int, error) {
			if found < 0 && ke-ks == len(name)+2 && string(doc[ks+1:ke-1]) == name {
				found = vs
			}
			return jsonscan.Skip(doc, vs)
		})
		if err != nil || found < 0 {
			return nil
		}
		i = found
	}
	end, err := jsonscan.Skip(doc, i)
	if err != nil {
		return nil
	}
	return doc[i:end]
}
