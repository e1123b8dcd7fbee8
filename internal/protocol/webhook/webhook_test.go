package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/protocol"
)

const pushSchema = "iglu:com.acme/github_push/jsonschema/1-0-0"

func TestDecode(t *testing.T) {
	schemaSrc := Source{Name: "github", Schema: pushSchema, Signature: Signature{Kind: KindGitHub, Secret: "x"}}
	arbitrarySrc := Source{Name: "misc", Arbitrary: true}
	tests := []struct {
		name      string
		src       Source
		mediaType string
		params    map[string]string
		header    http.Header
		body      string

		// For a delivery read as an event:
		data    string
		eventID string

		// For a request refused:
		status   int
		errParts []string
	}{
		{name: "json object", src: schemaSrc, mediaType: MediaJSON, body: `{"ref":"refs/heads/main","commits":[]}`, data: `{"ref":"refs/heads/main","commits":[]}`},
		{name: "json with charset utf-8", src: schemaSrc, mediaType: MediaJSON, params: map[string]string{"charset": "UTF-8"}, body: `{"a":1}`, data: `{"a":1}`},
		{name: "no content type is json", src: schemaSrc, body: `{"a":1}`, data: `{"a":1}`},
		{name: "json kept as sent, not compacted", src: schemaSrc, mediaType: MediaJSON, body: "{ \"a\" : [1, 2],\n  \"b\": \"\\u00e9\" }", data: "{ \"a\" : [1, 2],\n  \"b\": \"\\u00e9\" }"},
		{name: "json array is one event", src: schemaSrc, mediaType: MediaJSON, body: `[{"a":1},{"a":2}]`, data: `[{"a":1},{"a":2}]`},
		{name: "json scalar is one event", src: arbitrarySrc, mediaType: MediaJSON, body: `"ping"`, data: `"ping"`},
		{name: "json byte order mark and whitespace trimmed from data", src: schemaSrc, mediaType: MediaJSON, body: "\ufeff \r\n{\"a\":1}\n", data: `{"a":1}`},

		{name: "form with a repeated field", src: arbitrarySrc, mediaType: MediaForm, body: "b=2&a=1&b=3&c=x+y%21&empty=&d=%E2%82%AC\n",
			data: `{"a":"1","b":["2","3"],"c":"x y!","d":"€","empty":""}`},
		{name: "form of github's payload field", src: schemaSrc, mediaType: MediaForm, params: map[string]string{"charset": "utf-8"}, body: "payload=%7B%22zen%22%3A%22Keep+it+simple.%22%7D",
			data: `{"payload":"{\"zen\":\"Keep it simple.\"}"}`},
		{name: "form escapes what JSON must", src: arbitrarySrc, mediaType: MediaForm, body: "q=%22a%5Cb%22%0A%01", data: `{"q":"\"a\\b\"\n\u0001"}`},
		{name: "form of only separators", src: arbitrarySrc, mediaType: MediaForm, body: "&&", data: `{}`},

		{name: "github delivery id", src: schemaSrc, mediaType: MediaJSON, header: headers("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958", "Webhook-Id", "msg_1"),
			body: `{"id":"evt_1"}`, data: `{"id":"evt_1"}`, eventID: "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
		{name: "standard webhooks id", src: arbitrarySrc, mediaType: MediaJSON, header: headers("Webhook-Id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "X-Webhook-Id", "other"),
			body: `{}`, data: `{}`, eventID: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"},
		{name: "x-webhook-id", src: arbitrarySrc, mediaType: MediaJSON, header: headers("X-Webhook-Id", "w-1", "X-Request-Id", "r-1"), body: `{}`, data: `{}`, eventID: "w-1"},
		{name: "x-request-id is not a delivery id", src: arbitrarySrc, mediaType: MediaJSON, header: headers("X-Request-Id", "r-1"), body: `{}`, data: `{}`},
		{name: "stripe event id from the body", src: arbitrarySrc, mediaType: MediaJSON, body: `{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","data":{"object":{"id":"pi_1"}}}`,
			data: `{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","data":{"object":{"id":"pi_1"}}}`, eventID: "evt_1NG8Du2eZvKYlo2CUI79vXWy"},
		{name: "stripe event id with an escaped name", src: arbitrarySrc, mediaType: MediaJSON, body: `{"\u0069d":"evt_2"}`, data: `{"\u0069d":"evt_2"}`, eventID: "evt_2"},
		{name: "repeated id refused", src: arbitrarySrc, mediaType: MediaJSON, body: `{"id":"evt_1","id":"cus_1"}`, status: 400,
			errParts: []string{`member name "id" appears twice`}},
		{name: "repeated member within refused", src: schemaSrc, mediaType: MediaJSON, body: `{"order":{"total":-5,"total":5}}`, status: 400,
			errParts: []string{`member name "total" appears twice`}},
		{name: "id not of an event", src: arbitrarySrc, mediaType: MediaJSON, body: `{"id":"cus_1"}`, data: `{"id":"cus_1"}`},
		{name: "id not a string", src: arbitrarySrc, mediaType: MediaJSON, body: `{"id":7}`, data: `{"id":7}`},
		{name: "nested id is not the event's", src: arbitrarySrc, mediaType: MediaJSON, body: `{"data":{"id":"evt_3"}}`, data: `{"data":{"id":"evt_3"}}`},
		{name: "id in an array is not the event's", src: arbitrarySrc, mediaType: MediaJSON, body: `[{"id":"evt_3"}]`, data: `[{"id":"evt_3"}]`},

		{name: "unsupported media type", src: schemaSrc, mediaType: "text/plain", body: `{}`, status: 415,
			errParts: []string{"Content-Type text/plain is not accepted", "source github", MediaJSON, MediaForm}},
		{name: "unsupported charset", src: schemaSrc, mediaType: MediaJSON, params: map[string]string{"charset": "iso-8859-1"}, body: `{}`, status: 415,
			errParts: []string{"charset iso-8859-1 is not supported"}},
		{name: "invalid json", src: schemaSrc, mediaType: MediaJSON, body: `{"a":tru}`, status: 400,
			errParts: []string{"not valid JSON", "in literal true", "byte offset 8"}},
		{name: "truncated json", src: schemaSrc, mediaType: MediaJSON, body: `{"a":[1,2`, status: 400, errParts: []string{"not valid JSON", "unexpected end of input"}},
		{name: "two json documents", src: schemaSrc, mediaType: MediaJSON, body: `{} {}`, status: 400, errParts: []string{"after the end of the JSON value at byte offset 3"}},
		{name: "form sent as json", src: schemaSrc, body: `a=1&b=2`, status: 400, errParts: []string{"not valid JSON", MediaForm}},
		{name: "empty body", src: schemaSrc, mediaType: MediaJSON, body: "", status: 400, errParts: []string{"the body is empty"}},
		{name: "blank body", src: schemaSrc, mediaType: MediaJSON, body: " \r\n", status: 400, errParts: []string{"the body is empty"}},
		{name: "empty form", src: arbitrarySrc, mediaType: MediaForm, body: "", status: 400, errParts: []string{"the body is empty"}},
		{name: "json not utf-8", src: schemaSrc, mediaType: MediaJSON, body: "{\"a\":\"caf\xe9\"}", status: 400, errParts: []string{"not valid UTF-8, first at byte offset 9"}},
		{name: "form with a bad escape", src: arbitrarySrc, mediaType: MediaForm, body: "a=%zz", status: 400, errParts: []string{"not valid application/x-www-form-urlencoded", `invalid URL escape "%zz"`}},
		{name: "form with semicolons", src: arbitrarySrc, mediaType: MediaForm, body: "a=1;b=2", status: 400, errParts: []string{"semicolon"}},
		{name: "form value not utf-8", src: arbitrarySrc, mediaType: MediaForm, body: "a=caf%E9", status: 400, errParts: []string{`the value of field "a"`, "not valid UTF-8"}},
		{name: "form name not utf-8", src: arbitrarySrc, mediaType: MediaForm, body: "%FF=1", status: 400, errParts: []string{"a field name", "not valid UTF-8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &protocol.Request{Method: http.MethodPost, Path: "/webhooks/" + tc.src.Name, Header: tc.header,
				MediaType: tc.mediaType, Params: tc.params, Body: []byte(tc.body)}
			ins, err := Decode(req, tc.src)
			if tc.status != 0 {
				var perr *protocol.Error
				if !errors.As(err, &perr) {
					t.Fatalf("Decode returned %v, %d inputs; want a *protocol.Error", err, len(ins))
				}
				if ins != nil {
					t.Errorf("Decode returned %d inputs with its error", len(ins))
				}
				if perr.Status != tc.status {
					t.Errorf("error status %d, want %d", perr.Status, tc.status)
				}
				eventtest.CheckFailure(t, "the request", perr.Failure, eventtest.Failure{Type: event.PayloadFormatViolation, Messages: tc.errParts})
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(ins) != 1 {
				t.Fatalf("got %d inputs, want 1", len(ins))
			}
			in := ins[0]
			if string(in.Data) != tc.data {
				t.Errorf("data %s, want %s", in.Data, tc.data)
			}
			if !json.Valid(in.Data) {
				t.Errorf("data %s is not JSON", in.Data)
			}
			if in.EventID != tc.eventID {
				t.Errorf("event id %q, want %q", in.EventID, tc.eventID)
			}
			if string(in.Raw) != tc.body {
				t.Errorf("raw %q is not the body as sent", in.Raw)
			}
			if in.Failure != nil {
				t.Errorf("input failed: %+v", in.Failure)
			}
			if in.Arbitrary != tc.src.Arbitrary || in.SchemaKey != tc.src.Schema {
				t.Errorf("schema %q, arbitrary %t; want %q, %t", in.SchemaKey, in.Arbitrary, tc.src.Schema, tc.src.Arbitrary)
			}
		})
	}
}

func TestDecodeAttributes(t *testing.T) {
	src := Source{Name: "github-main", Schema: pushSchema}
	tests := []struct {
		name   string
		header http.Header
		want   string
	}{
		{name: "no headers", want: `{"source":"github-main","headers":{}}`},
		{
			name: "github delivery, credentials dropped",
			header: headers(
				"Content-Type", "application/json",
				"User-Agent", "GitHub-Hookshot/044aadd",
				"X-GitHub-Event", "push",
				"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958",
				"X-GitHub-Hook-ID", "292430182",
				"X-GitHub-Hook-Installation-Target-ID", "79929171",
				"X-Hub-Signature", "sha1=7d38cdd689735b008b3c702edd92eea23791c5f6",
				"X-Hub-Signature-256", "sha256=d57c68ca6f92289e6987922ff26938930f6e66a2d161ef06abdf1859230aa23c",
				"Authorization", "Bearer t0ken",
				"Cookie", "session=abc",
			),
			want: `{"source":"github-main","headers":{"content-type":"application/json","user-agent":"GitHub-Hookshot/044aadd",` +
				`"x-github-delivery":"72d3162e-cc78-11e3-81ab-4c9367dc0958","x-github-event":"push","x-github-hook-id":"292430182"}}`,
		},
		{
			name: "stripe signature dropped",
			header: headers(
				"Content-Type", "application/json; charset=utf-8",
				"User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
				"Stripe-Signature", "t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
			),
			want: `{"source":"github-main","headers":{"content-type":"application/json; charset=utf-8","user-agent":"Stripe/1.0 (+https://stripe.com/docs/webhooks)"}}`,
		},
		{
			name: "standard webhooks, signature dropped, repeated header joined",
			header: headers(
				"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek",
				"webhook-timestamp", "1614265330",
				"webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
				"X-Webhook-Id", "a",
				"X-Webhook-Id", "b",
				"X-Api-Key", "k",
			),
			want: `{"source":"github-main","headers":{"webhook-id":"msg_p5jXN8AQM9LWM0D4loKWxJek","webhook-timestamp":"1614265330","x-webhook-id":"a, b"}}`,
		},
		{
			name:   "header values escaped",
			header: headers("User-Agent", `say "hi" \ bye`),
			want:   `{"source":"github-main","headers":{"user-agent":"say \"hi\" \\ bye"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ins, err := Decode(&protocol.Request{MediaType: MediaJSON, Header: tc.header, Body: []byte(`{}`)}, src)
			if err != nil || len(ins) != 1 {
				t.Fatalf("Decode: %v, %d inputs", err, len(ins))
			}
			if got := string(ins[0].Attributes); got != tc.want {
				t.Errorf("attributes\n%s\nwant\n%s", got, tc.want)
			}
			if !json.Valid(ins[0].Attributes) {
				t.Errorf("attributes are not JSON")
			}
		})
	}
}

// TestKeptHeaderKeys checks the canonical keys Decode looks headers up by.
func TestKeptHeaderKeys(t *testing.T) {
	for i, k := range keptHeaders {
		if http.CanonicalHeaderKey(k.name) != k.key || strings.ToLower(k.key) != k.name {
			t.Errorf("kept header %q has key %q, want %q", k.name, k.key, http.CanonicalHeaderKey(k.name))
		}
		if i > 0 && keptHeaders[i-1].name >= k.name {
			t.Errorf("kept headers are not sorted: %q before %q", keptHeaders[i-1].name, k.name)
		}
	}
	for _, key := range deliveryIDHeaders {
		if http.CanonicalHeaderKey(key) != key {
			t.Errorf("delivery id header %q is not canonical", key)
		}
	}
}
