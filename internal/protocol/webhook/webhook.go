// Package webhook reads deliveries from third-party webhooks (GitHub, Stripe,
// any sender that signs with an HMAC), received at POST /webhooks/{source}.
// Each configured Source names a contract the deliveries are validated
// against, or records them unvalidated (arbitrary).
//
// A provider sends one delivery per request, so a request is one event
// whatever its JSON holds: the whole document is the event's data. A form
// body (application/x-www-form-urlencoded) becomes a JSON object of its
// fields. The server checks the delivery's signature with Verify before it
// decodes it with Decode.
//
// Each event's Attributes record the source and a fixed allow-list of the
// request's headers, as sent: content-type, user-agent, webhook-id,
// webhook-timestamp, x-github-delivery, x-github-event, x-github-hook-id and
// x-webhook-id. Signature headers and anything else a sender may put a
// credential in are never kept.
//
// The Input returned points into the request body, which must therefore not
// be reused while it is alive.
package webhook

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// Name is the protocol's name on envelopes.
const Name = "webhook"

// Accepted media types. A request without a Content-Type is read as JSON.
const (
	MediaJSON = "application/json"
	MediaForm = "application/x-www-form-urlencoded"
)

// keptHeaders is the allow-list of headers kept in Attributes: each name as
// it appears there (lower-case, sorted) and in canonical form, the key of
// http.Header, so that looking it up costs no allocation.
var keptHeaders = [...]struct{ name, key string }{
	{"content-type", "Content-Type"},
	{"user-agent", "User-Agent"},
	{"webhook-id", "Webhook-Id"},
	{"webhook-timestamp", "Webhook-Timestamp"},
	{"x-github-delivery", "X-Github-Delivery"},
	{"x-github-event", "X-Github-Event"},
	{"x-github-hook-id", "X-Github-Hook-Id"},
	{"x-webhook-id", "X-Webhook-Id"},
}

// deliveryIDHeaders carry a provider's id of the delivery, which becomes
// the event's id, in order of preference: GitHub's, then Standard Webhooks'
// (webhook-id) and the common X-Webhook-Id. The names are canonical.
var deliveryIDHeaders = [...]string{"X-Github-Delivery", "Webhook-Id", "X-Webhook-Id"}

// stripeEventPrefix starts the id of a Stripe event, which Stripe sends as
// the "id" member of the body rather than in a header.
const stripeEventPrefix = "evt_"

// Decode reads the one delivery in req, sent to src, as an event: its
// contract is src.Schema (none when src.Arbitrary), its data the JSON body
// (or the object built from a form body), its id the provider's delivery id
// when there is one. A body that cannot be read is a *protocol.Error: 415
// for a media type or charset other than JSON's or a form's, 400 for a body
// that is empty, not JSON, not a form or not UTF-8.
func Decode(req *protocol.Request, src Source) ([]event.Input, error) {
	form := false
	switch req.MediaType {
	case "", MediaJSON:
	case MediaForm:
		form = true
	default:
		return nil, protocol.Errorf(http.StatusUnsupportedMediaType, event.PayloadFormatViolation,
			"Content-Type %s is not accepted for webhook deliveries; have source %s's sender use %s or %s",
			req.MediaType, src.Name, MediaJSON, MediaForm)
	}
	if cs, ok := req.Params["charset"]; ok && !protocol.UTF8Charset(cs) {
		return nil, protocol.Errorf(http.StatusUnsupportedMediaType, event.PayloadFormatViolation,
			"charset %s is not supported; the body must be UTF-8, sent with charset=utf-8 or no charset", cs)
	}
	body := req.Body
	start := jsonscan.SkipSpace(body, protocol.SkipBOM(body))
	if start == len(body) {
		return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body is empty; a webhook delivery must carry its payload, as %s or %s", MediaJSON, MediaForm)
	}
	if !utf8.Valid(body[start:]) {
		return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body holds bytes that are not valid UTF-8, first at byte offset %d; the payload must be UTF-8 text",
			start+protocol.InvalidUTF8At(body[start:]))
	}
	in := event.Input{
		SchemaKey: src.Schema,
		Arbitrary: src.Arbitrary,
		Raw:       body,
	}
	if src.Arbitrary {
		in.SchemaKey = ""
	}
	var err *protocol.Error
	if form {
		// Whitespace is not part of the form encoding (a space is + or
		// %20); a trailing newline is an artefact of the sender.
		in.Data, err = formData(bytes.TrimRight(body[start:], " \t\r\n"))
	} else {
		in.Data, in.EventID, err = jsonData(body, start)
	}
	if err != nil {
		return nil, err
	}
	if id := deliveryID(req.Header); id != "" {
		in.EventID = id
	}
	in.Attributes = attributes(src.Name, req.Header)
	return req.OneInput(in), nil
}

// jsonData returns the JSON document that starts at body[start] and, when it
// is an object whose "id" is a string starting with evt_ (a Stripe event),
// that id.
func jsonData(body []byte, start int) ([]byte, string, *protocol.Error) {
	var end int
	var err error
	var id string
	if body[start] == '{' {
		// The payload is the event's data: its member names are checked
		// at the top as well as within.
		end, err = jsonscan.UniqueObject(body, start, func(ks, ke, vs int) (int, error) {
			ve, err := jsonscan.Value(body, vs)
			if err == nil && body[vs] == '"' && isID(body[ks:ke]) {
				if s := jsonscan.UnquoteBytes(body[vs:ve]); strings.HasPrefix(s, stripeEventPrefix) {
					id = s
				}
			}
			return ve, err
		})
	} else {
		end, err = jsonscan.Value(body, start)
	}
	if err == nil {
		if j := jsonscan.SkipSpace(body, end); j != len(body) {
			err = fmt.Errorf("unexpected data after the end of the JSON value at byte offset %d; a delivery is one JSON document", j)
		}
	}
	if err != nil {
		return nil, "", protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body is not valid JSON: %v; send the payload as one JSON document, or as %s with that Content-Type", err, MediaForm)
	}
	return body[start:end], id, nil
}

// isID reports whether a member name, as sent, is "id".
func isID(lit []byte) bool {
	if string(lit) == `"id"` {
		return true
	}
	return jsonscan.HasEscape(lit) && jsonscan.UnquoteBytes(lit) == "id"
}

// formData returns a form body as a JSON object: each field to its value as
// a string, or to an array of its values when it is repeated, fields sorted
// by name.
func formData(body []byte) ([]byte, *protocol.Error) {
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body is not valid %s: %v; separate fields with & and percent-encode names and values", MediaForm, err)
	}
	names := make([]string, 0, len(values))
	for name, vs := range values {
		// Percent-encoding can spell bytes that the UTF-8 check of the
		// body did not see.
		if !utf8.ValidString(name) {
			return nil, badFormUTF8("a field name")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, badFormUTF8(fmt.Sprintf("the value of field %q", name))
			}
		}
		names = append(names, name)
	}
	slices.Sort(names)
	b := make([]byte, 0, len(body)+2+6*len(names))
	b = append(b, '{')
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonscan.AppendString(b, name)
		b = append(b, ':')
		vs := values[name]
		if len(vs) == 1 {
			b = jsonscan.AppendString(b, vs[0])
			continue
		}
		b = append(b, '[')
		for j, v := range vs {
			if j > 0 {
				b = append(b, ',')
			}
			b = jsonscan.AppendString(b, v)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func badFormUTF8(what string) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
		"%s of the form decodes to bytes that are not valid UTF-8; percent-encode text as UTF-8", what)
}

// deliveryID returns the provider's id of the delivery, from the first of
// deliveryIDHeaders that was sent.
func deliveryID(h http.Header) string {
	for _, key := range deliveryIDHeaders {
		if vs := h[key]; len(vs) > 0 {
			if v := strings.TrimSpace(vs[0]); v != "" {
				return v
			}
		}
	}
	return ""
}

// attributes returns {"source": name, "headers": {...}} with the headers of
// keptHeaders that were sent, each repeated header's values joined with ", "
// as HTTP allows.
func attributes(name string, h http.Header) []byte {
	size := len(`{"source":,"headers":{}}`) + len(name) + 2
	for _, k := range keptHeaders {
		for _, v := range h[k.key] {
			size += len(k.name) + len(v) + 8
		}
	}
	b := make([]byte, 0, size)
	b = append(b, `{"source":`...)
	b = jsonscan.AppendString(b, name)
	b = append(b, `,"headers":{`...)
	first := true
	for _, k := range keptHeaders {
		vs := h[k.key]
		if len(vs) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonscan.AppendString(b, k.name)
		b = append(b, ':')
		if len(vs) == 1 {
			b = jsonscan.AppendString(b, vs[0])
		} else {
			b = jsonscan.AppendString(b, strings.Join(vs, ", "))
		}
	}
	return append(b, "}}"...)
}
