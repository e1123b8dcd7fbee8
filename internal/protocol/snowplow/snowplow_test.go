package snowplow

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/protocol"
)

// fields is a tp2 event as ordered name-value pairs, sent either as a query
// string or as one event of a POST body.
type fields [][2]string

func (fs fields) query() url.Values {
	q := url.Values{}
	for _, f := range fs {
		q.Add(f[0], f[1])
	}
	return q
}

func (fs fields) json() string {
	var b []byte
	b = append(b, '{')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(f[0])
		v, _ := json.Marshal(f[1])
		b = append(append(append(b, k...), ':'), v...)
	}
	return string(append(b, '}'))
}

// with returns fs with more fields after it.
func (fs fields) with(more ...string) fields {
	out := append(fields(nil), fs...)
	for i := 0; i+1 < len(more); i += 2 {
		out = append(out, [2]string{more[i], more[i+1]})
	}
	return out
}

// base is what every tp2 event carries.
var base = fields{{"p", "web"}, {"tv", "js-3.24.0"}}

func ev(e string, more ...string) fields { return append(fields{{"e", e}}, base...).with(more...) }

func payloadBody(version string, events ...string) string {
	return `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/` + version + `","data":[` + strings.Join(events, ",") + `]}`
}

const (
	checkoutUE  = `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/checkout/jsonschema/1-0-0","data":{"total":9.5,"note":"caf\u00e9 ü"}}}`
	checkoutKey = "iglu:com.acme/checkout/jsonschema/1-0-0"
	// checkoutData is the inner data as sent: the \u00e9 escape stays.
	checkoutData = `{"total":9.5,"note":"caf\u00e9 ü"}`
	userContexts = `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1","data":[{"schema":"iglu:com.acme/user/jsonschema/1-0-0","data":{"id":"u1"}},{"schema":"iglu:com.acme/page/jsonschema/1-0-0","data":{"url":"/"}}]}`
)

// want describes the Input an event should decode to.
type want struct {
	failure  event.FailureType // "" for an event that was read
	messages []string          // substrings the failure's messages must hold
	path     string            // instance path of the first message, when set
	schema   string
	data     string // exact Data; "-" for none
	contexts int    // number of contexts
	attrs    string // exact Attributes, when set
}

func TestDecodeEvents(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name   string
		fields fields
		want   want
	}{
		{
			name:   "page view",
			fields: ev("pv", "url", "https://shop.example.com/p?q=1&r=\"2\"", "page", "Home <é>", "refr", "https://www.google.com/", "aid", "shop"),
			want: want{schema: SchemaPageView, data: `{"page_url":"https://shop.example.com/p?q=1&r=\"2\"","page_title":"Home <é>","referrer":"https://www.google.com/"}`,
				attrs: `{"aid":"shop","e":"pv","p":"web","page":"Home <é>","refr":"https://www.google.com/","tv":"js-3.24.0","url":"https://shop.example.com/p?q=1&r=\"2\""}`},
		},
		{
			name:   "page view with only a url",
			fields: ev("pv", "url", "https://a.example/"),
			want:   want{schema: SchemaPageView, data: `{"page_url":"https://a.example/"}`},
		},
		{
			name:   "empty optional fields are left out of data and kept in attributes",
			fields: ev("pv", "url", "https://a.example/", "page", "", "uid", ""),
			want: want{schema: SchemaPageView, data: `{"page_url":"https://a.example/"}`,
				attrs: `{"e":"pv","p":"web","page":"","tv":"js-3.24.0","url":"https://a.example/"}`},
		},
		{
			name:   "page ping",
			fields: ev("pp", "url", "https://a.example/", "pp_mix", "0", "pp_max", "+120", "pp_miy", "-5", "pp_may", "1800"),
			want:   want{schema: SchemaPagePing, data: `{"page_url":"https://a.example/","min_x":0,"max_x":120,"min_y":-5,"max_y":1800}`},
		},
		{
			name:   "page ping offset that is not an integer",
			fields: ev("pp", "url", "https://a.example/", "pp_mix", "1.5", "pp_may", "lots"),
			want: want{failure: event.PayloadFormatViolation, path: "/pp_mix", schema: SchemaPagePing, data: "-",
				messages: []string{`pp_mix "1.5" is not an integer`, `pp_may "lots" is not an integer`, "whole number"}},
		},
		{
			name:   "structured event",
			fields: ev("se", "se_ca", "shop", "se_ac", "add-to-basket", "se_la", "SKU-1", "se_pr", "red", "se_va", "12.50"),
			want:   want{schema: SchemaStructuredEvent, data: `{"category":"shop","action":"add-to-basket","label":"SKU-1","property":"red","value":12.50}`},
		},
		{
			name:   "structured event from an old tracker",
			fields: ev("ev", "se_ca", "shop", "se_ac", "view", "se_va", "-1e3"),
			want:   want{schema: SchemaStructuredEvent, data: `{"category":"shop","action":"view","value":-1e3}`},
		},
		{
			name:   "structured event value that is not a number",
			fields: ev("se", "se_ca", "shop", "se_ac", "view", "se_va", "12,50"),
			want:   want{failure: event.PayloadFormatViolation, path: "/se_va", data: "-", messages: []string{`se_va "12,50" is not a number`}},
		},
		{
			name: "transaction",
			fields: ev("tr", "tr_id", "o-1", "tr_af", "web shop", "tr_tt", "129.95", "tr_tx", "20.74", "tr_sh", "4.99",
				"tr_ci", "Berlin", "tr_st", "BE", "tr_co", "DE", "tr_cu", "EUR"),
			want: want{schema: SchemaTransaction, data: `{"order_id":"o-1","affiliation":"web shop","total":129.95,"tax":20.74,"shipping":4.99,"city":"Berlin","state":"BE","country":"DE","currency":"EUR"}`},
		},
		{
			name:   "transaction total that is not a number",
			fields: ev("tr", "tr_id", "o-1", "tr_tt", "€12"),
			want:   want{failure: event.PayloadFormatViolation, path: "/tr_tt", messages: []string{`tr_tt "€12" is not a number`}},
		},
		{
			name:   "transaction item",
			fields: ev("ti", "ti_id", "o-1", "ti_sk", "SKU-1", "ti_nm", "Shoe", "ti_ca", "shoes", "ti_pr", "59.9", "ti_qu", "2", "ti_cu", "EUR"),
			want:   want{schema: SchemaTransactionItem, data: `{"order_id":"o-1","sku":"SKU-1","name":"Shoe","category":"shoes","price":59.9,"quantity":2,"currency":"EUR"}`},
		},
		{
			name:   "transaction item quantity that is not an integer",
			fields: ev("ti", "ti_id", "o-1", "ti_sk", "SKU-1", "ti_pr", "1", "ti_qu", "2.5"),
			want:   want{failure: event.PayloadFormatViolation, path: "/ti_qu", messages: []string{`ti_qu "2.5" is not an integer`}},
		},
		{
			name:   "self-describing event in ue_pr",
			fields: ev("ue", "ue_pr", checkoutUE, "url", "https://a.example/"),
			want: want{schema: checkoutKey, data: checkoutData,
				attrs: `{"e":"ue","p":"web","tv":"js-3.24.0","url":"https://a.example/"}`},
		},
		{
			name:   "self-describing event in ue_px",
			fields: ev("ue", "ue_px", b64([]byte(checkoutUE))),
			want:   want{schema: checkoutKey, data: checkoutData, attrs: `{"e":"ue","p":"web","tv":"js-3.24.0"}`},
		},
		{
			name:   "self-describing event with its members in another order and spaces",
			fields: ev("ue", "ue_pr", ` { "data" : { "data" : [1, 2] , "schema" : "iglu:com.acme/list/jsonschema/1-0-0" } , "schema" : "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0" } `),
			want:   want{schema: "iglu:com.acme/list/jsonschema/1-0-0", data: `[1, 2]`},
		},
		{
			name:   "contexts in co",
			fields: ev("pv", "url", "https://a.example/", "co", userContexts),
			want:   want{schema: SchemaPageView, contexts: 2, attrs: `{"e":"pv","p":"web","tv":"js-3.24.0","url":"https://a.example/"}`},
		},
		{
			name:   "contexts in cx",
			fields: ev("ue", "ue_px", b64([]byte(checkoutUE)), "cx", base64.StdEncoding.EncodeToString([]byte(userContexts))),
			want:   want{schema: checkoutKey, data: checkoutData, contexts: 2},
		},
		{
			name:   "empty list of contexts",
			fields: ev("pv", "url", "https://a.example/", "co", `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[]}`),
			want:   want{schema: SchemaPageView},
		},
		{
			name:   "type-specific fields of another type are kept in attributes",
			fields: ev("pv", "url", "https://a.example/", "se_ca", "x", "pp_mix", "oops", "ue_pr", "not json", "zz", "z"),
			want: want{schema: SchemaPageView, data: `{"page_url":"https://a.example/"}`,
				attrs: `{"e":"pv","p":"web","pp_mix":"oops","se_ca":"x","tv":"js-3.24.0","ue_pr":"not json","url":"https://a.example/","zz":"z"}`},
		},
		{
			name:   "tnuid overrides a different nuid, which is kept",
			fields: ev("pv", "url", "https://a.example/", "nuid", "n-1", "tnuid", "n-2"),
			want:   want{schema: SchemaPageView, attrs: `{"e":"pv","nuid":"n-1","p":"web","tv":"js-3.24.0","url":"https://a.example/"}`},
		},

		// Broken rules.
		{
			name:   "no e",
			fields: base.with("url", "https://a.example/"),
			want:   want{failure: event.ProtocolViolation, path: "/e", messages: []string{"no e (event type)", "pv (page view)"}},
		},
		{
			name:   "no p",
			fields: fields{{"e", "pv"}, {"tv", "js-3.24.0"}},
			want:   want{failure: event.ProtocolViolation, path: "/p", messages: []string{"no p (platform)", "web"}, schema: SchemaPageView},
		},
		{
			name:   "no tv",
			fields: fields{{"e", "pv"}, {"p", "web"}, {"url", "https://a.example/"}},
			want:   want{failure: event.ProtocolViolation, path: "/tv", messages: []string{"no tv (tracker version)", "js-3.24.0"}},
		},
		{
			name:   "empty e, p and tv",
			fields: fields{{"e", ""}, {"p", ""}, {"tv", ""}},
			want:   want{failure: event.ProtocolViolation, messages: []string{"no e", "no p", "no tv"}, attrs: `{"e":"","p":"","tv":""}`},
		},
		{
			name:   "unknown e",
			fields: ev("ad", "ad_ba", "1"),
			want:   want{failure: event.ProtocolViolation, path: "/e", messages: []string{`e "ad" is not an event type`, "ue (self-describing event)"}},
		},
		{
			name:   "ue_px that is not base64",
			fields: ev("ue", "ue_px", "eyJ*"),
			want:   want{failure: event.PayloadFormatViolation, path: "/ue_px", messages: []string{"ue_px is not base64", "byte offset 3", "URL-safe"}},
		},
		{
			name:   "ue_px mixing base64 alphabets",
			fields: ev("ue", "ue_px", "ab+c-d"),
			want:   want{failure: event.PayloadFormatViolation, path: "/ue_px", messages: []string{"mixes the URL-safe alphabet"}},
		},
		{
			name:   "ue_px that is not UTF-8",
			fields: ev("ue", "ue_px", b64([]byte("{\"a\":\"\xff\"}"))),
			want:   want{failure: event.PayloadFormatViolation, messages: []string{"not valid UTF-8", "byte offset 6"}},
		},
		{
			name:   "cx that is not base64",
			fields: ev("pv", "url", "https://a.example/", "cx", "%%%"),
			want:   want{failure: event.PayloadFormatViolation, path: "/cx", messages: []string{"cx is not base64"}, schema: SchemaPageView},
		},
		{
			name:   "ue_pr that is not JSON",
			fields: ev("ue", "ue_pr", `{"schema": "iglu:x", "data": {`),
			want:   want{failure: event.PayloadFormatViolation, path: "/ue_pr", messages: []string{"ue_pr is not valid JSON", "unexpected end of input", unstructSchema}},
		},
		{
			name:   "ue_px that is not JSON",
			fields: ev("ue", "ue_px", b64([]byte("hello"))),
			want:   want{failure: event.PayloadFormatViolation, path: "/ue_px", messages: []string{"ue_px is not valid JSON"}},
		},
		{
			name:   "co that is not JSON",
			fields: ev("pv", "url", "https://a.example/", "co", `[{]`),
			want:   want{failure: event.PayloadFormatViolation, path: "/co", messages: []string{"co is not valid JSON"}},
		},
		{
			name:   "cx that is not JSON",
			fields: ev("pv", "url", "https://a.example/", "cx", b64([]byte(`{"schema":`))),
			want:   want{failure: event.PayloadFormatViolation, path: "/cx", messages: []string{"cx is not valid JSON"}},
		},
		{
			name:   "ue without a payload",
			fields: ev("ue"),
			want:   want{failure: event.ProtocolViolation, messages: []string{"has no ue_px or ue_pr"}},
		},
		{
			name:   "ue_pr and ue_px both",
			fields: ev("ue", "ue_pr", checkoutUE, "ue_px", b64([]byte(checkoutUE))),
			want:   want{failure: event.ProtocolViolation, path: "/ue_pr", messages: []string{"both ue_pr and ue_px"}},
		},
		{
			name:   "ue payload that is not wrapped",
			fields: ev("ue", "ue_pr", `{"schema":"iglu:com.acme/checkout/jsonschema/1-0-0","data":{"total":1}}`),
			want:   want{failure: event.ProtocolViolation, path: "/ue_pr", messages: []string{`ue_pr has the schema "iglu:com.acme/checkout/jsonschema/1-0-0"`, "wrap the event as"}},
		},
		{
			name:   "ue payload that is an array",
			fields: ev("ue", "ue_pr", `[]`),
			want:   want{failure: event.ProtocolViolation, messages: []string{"ue_pr is an array, not an object"}},
		},
		{
			name:   "ue payload without inner schema",
			fields: ev("ue", "ue_pr", `{"schema":"`+unstructSchema+`","data":{"data":{}}}`),
			want:   want{failure: event.ProtocolViolation, messages: []string{"the data of ue_pr has no schema (in ue_pr/data)"}},
		},
		{
			name:   "ue payload with inner data that is not an object",
			fields: ev("ue", "ue_pr", `{"schema":"`+unstructSchema+`","data":"x"}`),
			want:   want{failure: event.ProtocolViolation, messages: []string{"the data of ue_pr is a string"}},
		},
		{
			name:   "ue payload with an empty inner schema and an unknown field",
			fields: ev("ue", "ue_pr", `{"schema":"`+unstructSchema+`","data":{"schema":"","data":{},"x":1}}`),
			want:   want{failure: event.ProtocolViolation, messages: []string{`unknown field "x" (in ue_pr/data)`}},
		},
		{
			name:   "ue payload without data",
			fields: ev("ue", "ue_pr", `{"schema":"`+unstructSchema+`"}`),
			want:   want{failure: event.ProtocolViolation, messages: []string{"ue_pr has no data"}},
		},
		{
			name:   "contexts that are not wrapped",
			fields: ev("pv", "url", "https://a.example/", "co", `[{"schema":"iglu:com.acme/user/jsonschema/1-0-0","data":{}}]`),
			want:   want{failure: event.ProtocolViolation, path: "/co", messages: []string{"co is an array, not an object"}},
		},
		{
			name:   "contexts with another wrapper schema",
			fields: ev("pv", "url", "https://a.example/", "co", `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/2-0-0","data":[]}`),
			want:   want{failure: event.ProtocolViolation, messages: []string{`co has the schema "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/2-0-0"`}},
		},
		{
			name:   "contexts whose data is not an array",
			fields: ev("pv", "url", "https://a.example/", "co", `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":{}}`),
			want:   want{failure: event.ProtocolViolation, messages: []string{"the data of co is an object; it must be an array"}},
		},
		{
			name: "context without data",
			fields: ev("pv", "url", "https://a.example/", "co",
				`{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:com.acme/user/jsonschema/1-0-0","data":{}},{"schema":"iglu:com.acme/user/jsonschema/1-0-0"}]}`),
			want: want{failure: event.ProtocolViolation, messages: []string{"context 1 of co has no data (in co/data/1)"}},
		},
		{
			name:   "dtm that is not milliseconds",
			fields: ev("pv", "url", "https://a.example/", "dtm", "2024-05-01T12:00:00Z", "stm", "1714566600123"),
			want:   want{failure: event.PayloadFormatViolation, path: "/dtm", messages: []string{`dtm "2024-05-01T12:00:00Z" is not a time in milliseconds`}},
		},
		{
			name:   "stm out of range",
			fields: ev("pv", "url", "https://a.example/", "stm", "99999999999999999"),
			want:   want{failure: event.PayloadFormatViolation, path: "/stm", messages: []string{`stm "99999999999999999" is not a time in milliseconds`}},
		},
		{
			name:   "problems of both kinds: the failure is the more basic one",
			fields: fields{{"e", "pv"}, {"p", "web"}, {"dtm", "x"}},
			want:   want{failure: event.PayloadFormatViolation, messages: []string{"no tv", "dtm"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("GET", func(t *testing.T) {
				q := tc.fields.query()
				in, err := DecodeQuery(q)
				if err != nil {
					t.Fatalf("DecodeQuery: %v", err)
				}
				checkInput(t, &in, tc.want)
				if string(in.Raw) != q.Encode() {
					t.Errorf("raw %q, want the query %q", in.Raw, q.Encode())
				}
			})
			t.Run("POST", func(t *testing.T) {
				evJSON := tc.fields.json()
				ins, err := DecodeBody(&protocol.Request{MediaType: MediaJSON, Body: []byte(payloadBody("1-0-4", evJSON))})
				if err != nil || len(ins) != 1 {
					t.Fatalf("DecodeBody: %v, %d inputs", err, len(ins))
				}
				checkInput(t, &ins[0], tc.want)
				if string(ins[0].Raw) != evJSON {
					t.Errorf("raw %q, want the event as sent %q", ins[0].Raw, evJSON)
				}
			})
		})
	}
}

func checkInput(t *testing.T, in *event.Input, w want) {
	t.Helper()
	eventtest.CheckFailure(t, "the event", in.Failure, eventtest.Failure{Type: w.failure, Messages: w.messages, Path: w.path})
	if w.failure != "" && len(in.Raw) == 0 {
		t.Errorf("failed without keeping its raw bytes")
	}
	if w.schema != "" && in.SchemaKey != w.schema {
		t.Errorf("schema %q, want %q", in.SchemaKey, w.schema)
	}
	switch {
	case w.data == "-" && in.Data != nil:
		t.Errorf("data %s, want none", in.Data)
	case w.data != "" && w.data != "-" && string(in.Data) != w.data:
		t.Errorf("data\n%s\nwant\n%s", in.Data, w.data)
	}
	if in.Data != nil && !json.Valid(in.Data) {
		t.Errorf("data %q is not JSON", in.Data)
	}
	if len(in.Contexts) != w.contexts {
		t.Errorf("%d contexts, want %d: %+v", len(in.Contexts), w.contexts, in.Contexts)
	}
	if in.Attributes != nil && !json.Valid(in.Attributes) {
		t.Errorf("attributes %q are not JSON", in.Attributes)
	}
	if w.attrs != "" && string(in.Attributes) != w.attrs {
		t.Errorf("attributes\n%s\nwant\n%s", in.Attributes, w.attrs)
	}
}

// TestDecodeFields checks the fields tp2 maps onto the Input itself, and
// that nothing else is lost: the rest is in Attributes.
func TestDecodeFields(t *testing.T) {
	fs := ev("ue", "ue_pr", checkoutUE, "co", userContexts,
		"eid", "6f1b7c1e-8a57-4a8e-9a67-2a1f5d7d9c10", "dtm", "1714566600123", "stm", "1714566601456", "ttm", "1714566600000",
		"uid", "u_1234", "duid", "d-1", "nuid", "n-1", "tna", "shop-web", "aid", "shop", "tz", "Europe/Berlin", "lang", "de-DE",
		"cs", "UTF-8", "res", "1920x1080", "vp", "1280x720", "ds", "1280x4000", "cd", "24", "cookie", "1", "f_pdf", "1", "f_java", "0",
		"sid", "s-1", "vid", "3", "mac", "00:00", "ip", "10.0.0.1", "ua", "Mozilla/5.0", "url", "https://a.example/", "refr", "https://b.example/",
		"page", "A", "x-custom", "v")
	wantAttrs := `{"aid":"shop","cd":"24","cookie":"1","cs":"UTF-8","ds":"1280x4000","e":"ue","f_java":"0","f_pdf":"1","ip":"10.0.0.1",` +
		`"lang":"de-DE","mac":"00:00","p":"web","page":"A","refr":"https://b.example/","res":"1920x1080","sid":"s-1","ttm":"1714566600000",` +
		`"tv":"js-3.24.0","tz":"Europe/Berlin","ua":"Mozilla/5.0","url":"https://a.example/","vid":"3","vp":"1280x720","x-custom":"v"}`

	check := func(t *testing.T, in event.Input) {
		t.Helper()
		if in.Failure != nil {
			t.Fatalf("failed: %+v", in.Failure)
		}
		if in.EventID != "6f1b7c1e-8a57-4a8e-9a67-2a1f5d7d9c10" || in.Namespace != "shop-web" {
			t.Errorf("event id %q, namespace %q", in.EventID, in.Namespace)
		}
		if want := (event.Identity{UserID: "u_1234", AnonymousID: "d-1", NetworkUserID: "n-1"}); in.Identity != want {
			t.Errorf("identity %+v, want %+v", in.Identity, want)
		}
		if want := time.Date(2024, 5, 1, 12, 30, 0, 123e6, time.UTC); !in.CreatedAt.Equal(want) || in.CreatedAt.Location() != time.UTC {
			t.Errorf("created at %v, want %v", in.CreatedAt, want)
		}
		if want := time.Date(2024, 5, 1, 12, 30, 1, 456e6, time.UTC); !in.SentAt.Equal(want) {
			t.Errorf("sent at %v, want %v", in.SentAt, want)
		}
		wantContexts := []event.Context{
			{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: []byte(`{"id":"u1"}`)},
			{Schema: "iglu:com.acme/page/jsonschema/1-0-0", Data: []byte(`{"url":"/"}`)},
		}
		if len(in.Contexts) != len(wantContexts) {
			t.Fatalf("contexts %+v", in.Contexts)
		}
		for i, c := range wantContexts {
			if in.Contexts[i].Schema != c.Schema || string(in.Contexts[i].Data) != string(c.Data) {
				t.Errorf("context %d: %s %s, want %s %s", i, in.Contexts[i].Schema, in.Contexts[i].Data, c.Schema, c.Data)
			}
		}
		if in.SchemaKey != checkoutKey || string(in.Data) != checkoutData {
			t.Errorf("schema %q data %s", in.SchemaKey, in.Data)
		}
		if string(in.Attributes) != wantAttrs {
			t.Errorf("attributes\n%s\nwant\n%s", in.Attributes, wantAttrs)
		}
	}
	t.Run("GET", func(t *testing.T) {
		in, err := DecodeQuery(fs.query())
		if err != nil {
			t.Fatal(err)
		}
		check(t, in)
	})
	t.Run("POST", func(t *testing.T) {
		ins, err := DecodeBody(&protocol.Request{MediaType: MediaJSON, Body: []byte(payloadBody("1-0-4", fs.json()))})
		if err != nil || len(ins) != 1 {
			t.Fatalf("DecodeBody: %v, %d inputs", err, len(ins))
		}
		check(t, ins[0])
	})
}

func TestDecodeBody(t *testing.T) {
	pv := ev("pv", "url", "https://a.example/").json()
	se := ev("se", "se_ca", "c", "se_ac", "a").json()
	tests := []struct {
		name      string
		mediaType string
		params    map[string]string
		body      string
		// A request-level error, when errType is set.
		status   int
		errType  event.FailureType
		errParts []string
		want     []want
		raws     []string
	}{
		{name: "payload_data 1-0-4", mediaType: MediaJSON, body: payloadBody("1-0-4", pv, se),
			want: []want{{schema: SchemaPageView}, {schema: SchemaStructuredEvent}}, raws: []string{pv, se}},
		{name: "payload_data 1-0-0", mediaType: MediaJSON, body: payloadBody("1-0-0", pv), want: []want{{schema: SchemaPageView}}},
		{name: "payload_data 1-0-2", mediaType: MediaJSON, body: payloadBody("1-0-2", pv), want: []want{{schema: SchemaPageView}}},
		{name: "no content type", body: payloadBody("1-0-4", pv), want: []want{{schema: SchemaPageView}}},
		{name: "text/plain, as sendBeacon sends", mediaType: MediaText, body: payloadBody("1-0-4", pv), want: []want{{schema: SchemaPageView}}},
		{name: "utf-8 charset", mediaType: MediaJSON, params: map[string]string{"charset": "UTF-8"}, body: payloadBody("1-0-4", pv), want: []want{{schema: SchemaPageView}}},
		{name: "byte order mark and spaces", mediaType: MediaJSON, body: "\ufeff \n" + payloadBody("1-0-4", pv) + "\n", want: []want{{schema: SchemaPageView}}},
		{name: "data before schema", mediaType: MediaJSON,
			body: `{"data":[` + pv + `],"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-3"}`, want: []want{{schema: SchemaPageView}}},
		{name: "no events", mediaType: MediaJSON, body: payloadBody("1-0-4"), want: []want{}},
		{
			name: "a bad event among good ones fails alone", mediaType: MediaJSON,
			body: payloadBody("1-0-4", pv, `{"p":"web","tv":"t"}`, `"pv"`, `{"e":"pv","p":"web","tv":"t","dtm":1714566600123}`,
				`{"e":"pv","p":"web","tv":"t","e":"se"}`, `{"e":"pv","p":"web","tv":"t","x":"1","x":"2"}`, se),
			want: []want{
				{schema: SchemaPageView},
				{failure: event.ProtocolViolation, path: "/e", messages: []string{"no e (event type)"}},
				{failure: event.ProtocolViolation, messages: []string{"event 2 of data is a string, not an event"}},
				{failure: event.ProtocolViolation, path: "/dtm", messages: []string{"dtm is a number; every field of a tp2 event is a string"}},
				{failure: event.ProtocolViolation, path: "/e", messages: []string{"the field e appears more than once"}},
				{failure: event.ProtocolViolation, path: "/x", messages: []string{"the field x appears more than once"}},
				{schema: SchemaStructuredEvent},
			},
			raws: []string{pv, `{"p":"web","tv":"t"}`, `"pv"`, `{"e":"pv","p":"web","tv":"t","dtm":1714566600123}`},
		},
		{
			name: "escaped field names and values", mediaType: MediaJSON,
			body: payloadBody("1-0-4", `{"\u0065":"p\u0076","p":"web","tv":"t","url":"https:\/\/a.example\/\"x\""}`),
			want: []want{{schema: SchemaPageView, data: `{"page_url":"https://a.example/\"x\""}`}},
		},
		{
			name: "invalid utf-8 in one event", mediaType: MediaJSON,
			body: payloadBody("1-0-4", pv, `{"e":"pv","p":"web","tv":"t","page":"`+"\xc3\x28"+`"}`),
			want: []want{{schema: SchemaPageView}, {failure: event.PayloadFormatViolation, messages: []string{"not valid UTF-8", "byte offset 37 of the event"}}},
		},

		// The request as a whole.
		{name: "unsupported media type", mediaType: "application/x-www-form-urlencoded", body: payloadBody("1-0-4", pv), status: 415, errType: event.PayloadFormatViolation,
			errParts: []string{"application/x-www-form-urlencoded is not accepted", MediaJSON, MediaText}},
		{name: "unsupported charset", mediaType: MediaJSON, params: map[string]string{"charset": "iso-8859-1"}, body: payloadBody("1-0-4", pv), status: 415,
			errType: event.PayloadFormatViolation, errParts: []string{"charset iso-8859-1 is not supported"}},
		{name: "empty body", mediaType: MediaJSON, body: " \n", status: 400, errType: event.PayloadFormatViolation, errParts: []string{"the body is empty", payloadDataLatest}},
		{name: "not JSON", mediaType: MediaJSON, body: `{"schema": tru}`, status: 400, errType: event.PayloadFormatViolation,
			errParts: []string{"not valid JSON", "in literal true", "byte offset 14", payloadDataLatest}},
		{name: "form body", mediaType: "", body: `e=pv&p=web`, status: 400, errType: event.PayloadFormatViolation, errParts: []string{"not valid JSON"}},
		{name: "truncated", mediaType: MediaJSON, body: payloadBody("1-0-4", pv)[:60], status: 400, errType: event.PayloadFormatViolation, errParts: []string{"unexpected end of input"}},
		{name: "two bodies", mediaType: MediaJSON, body: payloadBody("1-0-4", pv) + payloadBody("1-0-4", pv), status: 400, errType: event.PayloadFormatViolation,
			errParts: []string{"unexpected data after the end of the first value"}},
		{name: "an array of events without the wrapper", mediaType: MediaJSON, body: `[` + pv + `]`, status: 400, errType: event.ProtocolViolation,
			errParts: []string{"the body is an array, not a payload_data object", payloadDataLatest}},
		{name: "another schema", mediaType: MediaJSON, body: `{"schema":"iglu:com.acme/checkout/jsonschema/1-0-0","data":[` + pv + `]}`, status: 400,
			errType: event.ProtocolViolation, errParts: []string{`schema is "iglu:com.acme/checkout/jsonschema/1-0-0", not payload_data`, "/events"}},
		{name: "payload_data 1-0-5", mediaType: MediaJSON, body: payloadBody("1-0-5", pv), status: 400, errType: event.ProtocolViolation,
			errParts: []string{"payload_data/jsonschema/1-0-5", "1-0-0 to"}},
		{name: "payload_data 1-0-44", mediaType: MediaJSON, body: payloadBody("1-0-44", pv), status: 400, errType: event.ProtocolViolation},
		{name: "no schema", mediaType: MediaJSON, body: `{"data":[` + pv + `]}`, status: 400, errType: event.ProtocolViolation, errParts: []string{"the body has no schema"}},
		{name: "schema not a string", mediaType: MediaJSON, body: `{"schema":1,"data":[]}`, status: 400, errType: event.ProtocolViolation, errParts: []string{"schema is a number"}},
		{name: "no data", mediaType: MediaJSON, body: `{"schema":"` + payloadDataLatest + `"}`, status: 400, errType: event.ProtocolViolation, errParts: []string{"the body has no data"}},
		{name: "data not an array", mediaType: MediaJSON, body: `{"schema":"` + payloadDataLatest + `","data":` + pv + `}`, status: 400, errType: event.ProtocolViolation,
			errParts: []string{"data is an object, not an array of events"}},
		{name: "unknown wrapper field", mediaType: MediaJSON, body: `{"schema":"` + payloadDataLatest + `","data":[],"extra":1}`, status: 400, errType: event.ProtocolViolation,
			errParts: []string{`unknown field "extra"`}},
		{name: "schema twice", mediaType: MediaJSON, body: `{"schema":"` + payloadDataLatest + `","schema":"` + payloadDataLatest + `","data":[]}`, status: 400,
			errType: event.ProtocolViolation, errParts: []string{"schema appears more than once"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &protocol.Request{MediaType: tc.mediaType, Params: tc.params, Body: []byte(tc.body)}
			ins, err := DecodeBody(req)
			if tc.errType != "" {
				var perr *protocol.Error
				if !errors.As(err, &perr) {
					t.Fatalf("DecodeBody returned %v, %d inputs; want a *protocol.Error", err, len(ins))
				}
				if perr.Status != tc.status {
					t.Errorf("error status %d, want %d", perr.Status, tc.status)
				}
				eventtest.CheckFailure(t, "the request", perr.Failure, eventtest.Failure{Type: tc.errType, Messages: tc.errParts})
				return
			}
			if err != nil {
				t.Fatalf("DecodeBody: %v", err)
			}
			if len(ins) != len(tc.want) {
				t.Fatalf("got %d inputs, want %d: %+v", len(ins), len(tc.want), ins)
			}
			for i, w := range tc.want {
				t.Run(strconv.Itoa(i), func(t *testing.T) { checkInput(t, &ins[i], w) })
			}
			for i, raw := range tc.raws {
				if string(ins[i].Raw) != raw {
					t.Errorf("input %d: raw %q, want %q", i, ins[i].Raw, raw)
				}
			}
		})
	}
}

func TestDecodeQuery(t *testing.T) {
	t.Run("no parameters", func(t *testing.T) {
		_, err := DecodeQuery(url.Values{})
		var perr *protocol.Error
		if !errors.As(err, &perr) || perr.Status != 400 || perr.Failure.Type != event.ProtocolViolation || !strings.Contains(err.Error(), "/i?e=pv") {
			t.Fatalf("DecodeQuery of nothing: %v", err)
		}
	})
	t.Run("first value of a repeated parameter, all kept in raw", func(t *testing.T) {
		q, err := url.ParseQuery("e=pv&p=web&tv=t&url=https%3A%2F%2Fa.example%2F&url=https%3A%2F%2Fb.example%2F&aid=x&aid=y")
		if err != nil {
			t.Fatal(err)
		}
		in, err := DecodeQuery(q)
		if err != nil || in.Failure != nil {
			t.Fatalf("DecodeQuery: %v %+v", err, in.Failure)
		}
		if string(in.Data) != `{"page_url":"https://a.example/"}` {
			t.Errorf("data %s", in.Data)
		}
		if want := `{"aid":"x","e":"pv","p":"web","tv":"t","url":"https://a.example/"}`; string(in.Attributes) != want {
			t.Errorf("attributes %s, want %s", in.Attributes, want)
		}
		if string(in.Raw) != q.Encode() || !strings.Contains(string(in.Raw), "aid=y") {
			t.Errorf("raw %q", in.Raw)
		}
	})
	t.Run("standard base64 whose plus signs became spaces", func(t *testing.T) {
		px := base64.StdEncoding.EncodeToString([]byte(`{"schema":"` + unstructSchema + `","data":{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"s":">>>?"}}}`))
		if !strings.Contains(px, "+") {
			t.Fatalf("test payload %s has no +", px)
		}
		q, err := url.ParseQuery("e=ue&p=web&tv=t&ue_px=" + px)
		if err != nil {
			t.Fatal(err)
		}
		in, _ := DecodeQuery(q)
		if in.Failure != nil || string(in.Data) != `{"s":">>>?"}` {
			t.Fatalf("data %s, failure %+v", in.Data, in.Failure)
		}
	})
	t.Run("invalid utf-8", func(t *testing.T) {
		q, err := url.ParseQuery("e=pv&p=web&tv=t&url=%FF")
		if err != nil {
			t.Fatal(err)
		}
		in, _ := DecodeQuery(q)
		checkInput(t, &in, want{failure: event.PayloadFormatViolation, path: "/url", messages: []string{"url holds bytes that are not valid UTF-8"}})
	})
}

func TestDecodeBase64(t *testing.T) {
	// Bytes whose encodings hold all of + / - _ and need padding.
	data := []byte{0xfb, 0xff, 0xbf, 0xfe, 0x3e, 0x00, 'a'}
	tests := []struct {
		name    string
		in      string
		want    []byte
		errPart string
	}{
		{name: "URL-safe, padded", in: base64.URLEncoding.EncodeToString(data), want: data},
		{name: "URL-safe, unpadded", in: base64.RawURLEncoding.EncodeToString(data), want: data},
		{name: "standard, padded", in: base64.StdEncoding.EncodeToString(data), want: data},
		{name: "standard, unpadded", in: base64.RawStdEncoding.EncodeToString(data), want: data},
		{name: "no alphabet-specific characters", in: "YWJj", want: []byte("abc")},
		{name: "line breaks", in: "YW\r\nJj", want: []byte("abc")},
		{name: "standard with spaces for plus signs", in: strings.ReplaceAll(base64.StdEncoding.EncodeToString(data), "+", " "), want: data},
		{name: "empty", in: "", want: []byte{}},
		{name: "mixed alphabets", in: "-+AA", errPart: "mixes"},
		{name: "bad character", in: "YW*j", errPart: "illegal data at byte offset 2"},
		{name: "padding in the middle", in: "YQ==YQ==", errPart: "illegal data"},
		{name: "wrong length", in: "YWJjZ", errPart: "illegal data"},
	}
	// One decoder for all the cases, as for the payloads of one request:
	// each result must stay as decoded while the later ones share its
	// buffer.
	var d decoder
	var kept [][]byte
	var keptWant [][]byte
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.decodeBase64(tc.in)
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("decodeBase64(%q) = %x, %v; want an error saying %q", tc.in, got, err, tc.errPart)
				}
				return
			}
			if err != nil || string(got) != string(tc.want) {
				t.Fatalf("decodeBase64(%q) = %x, %v; want %x", tc.in, got, err, tc.want)
			}
			if cap(got) != len(got) {
				t.Fatalf("decodeBase64(%q) has capacity %d beyond its length %d: an append would write into the next payload", tc.in, cap(got), len(got))
			}
			kept, keptWant = append(kept, got), append(keptWant, tc.want)
		})
	}
	for i := range kept {
		if string(kept[i]) != string(keptWant[i]) {
			t.Fatalf("payload %d changed to %x after later decodes; want %x", i, kept[i], keptWant[i])
		}
	}
}
