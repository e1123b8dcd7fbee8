package snowplow

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
)

// benchEvent is a typical event of the JavaScript tracker: a self-describing
// event with two contexts, base64-encoded, and the browser's fields.
func benchEvent() fields {
	enc := base64.RawURLEncoding.EncodeToString
	ue := `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/checkout_completed/jsonschema/1-2-0",` +
		`"data":{"order_id":"ord_8f3a2c91","total":129.95,"currency":"EUR","items":3,"coupon":"SPRING24","shipping_method":"express"}}}`
	cx := `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[` +
		`{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"id":"0b4c9a55-7d4f-4a4e-9d5a-5d0c2b7e1f3a"}},` +
		`{"schema":"iglu:com.acme/user/jsonschema/1-0-0","data":{"plan":"pro","signed_up":"2023-01-05"}}]}`
	return ev("ue", "ue_px", enc([]byte(ue)), "cx", enc([]byte(cx)),
		"eid", "6f1b7c1e-8a57-4a8e-9a67-2a1f5d7d9c10", "dtm", "1714566600123", "stm", "1714566601456",
		"tna", "sp", "aid", "shop-web", "tz", "Europe/Berlin", "lang", "de-DE", "cs", "UTF-8", "res", "1920x1080",
		"vp", "1280x720", "ds", "1265x3840", "cd", "24", "cookie", "1", "duid", "a_9f8e7d6c", "uid", "u_1234",
		"vid", "7", "sid", "5d0c2b7e-1f3a-4a4e-9d5a-0b4c9a557d4f",
		"url", "https://shop.example.com/checkout?step=3", "page", "Checkout", "refr", "https://shop.example.com/basket")
}

func BenchmarkDecodeBody(b *testing.B) {
	e := benchEvent().json()
	events := make([]string, 10)
	for i := range events {
		events[i] = e
	}
	// MaxEvents as the server sets it by default (max_events_per_request).
	req := &protocol.Request{MediaType: MediaJSON, Body: []byte(payloadBody("1-0-4", events...)), MaxEvents: 500}
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	for b.Loop() {
		ins, err := DecodeBody(req)
		if err != nil || len(ins) != 10 || ins[9].Failure != nil {
			b.Fatalf("DecodeBody: %v, %d inputs", err, len(ins))
		}
	}
}

func BenchmarkDecodeQuery(b *testing.B) {
	q, err := url.ParseQuery(benchEvent().query().Encode())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		in, err := DecodeQuery(q)
		if err != nil || in.Failure != nil {
			b.Fatalf("DecodeQuery: %v %+v", err, in.Failure)
		}
	}
}

// BenchmarkDecodeRawQuery is what GET /i does: the same query, its raw text
// kept as sent instead of re-encoded.
func BenchmarkDecodeRawQuery(b *testing.B) {
	raw := benchEvent().query().Encode()
	q, err := url.ParseQuery(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		in, err := DecodeRawQuery(q, raw)
		if err != nil || in.Failure != nil {
			b.Fatalf("DecodeRawQuery: %v %+v", err, in.Failure)
		}
	}
}

// BenchmarkDecodeGETQuery is what reading GET /i's event costs the server,
// the query's parsing and check included: DecodeGETQuery, which the
// server runs instead of protocol.CheckQuery (the 400 for a query
// url.ParseQuery refuses) and DecodeQueryText (Endpoint.ChecksQuery).
func BenchmarkDecodeGETQuery(b *testing.B) {
	raw := benchEvent().query().Encode()
	b.ReportAllocs()
	for b.Loop() {
		in, err := DecodeGETQuery(raw)
		if err != nil || in.Failure != nil {
			b.Fatalf("DecodeGETQuery: %v %+v", err, in.Failure)
		}
	}
}

// BenchmarkDecodeGETQueryTwoPasses is GET /i as the server ran it before
// DecodeGETQuery: protocol.CheckQuery, then DecodeQueryText.
func BenchmarkDecodeGETQueryTwoPasses(b *testing.B) {
	raw := benchEvent().query().Encode()
	b.ReportAllocs()
	for b.Loop() {
		if err := protocol.CheckQuery(raw); err != nil {
			b.Fatal(err)
		}
		in, err := DecodeQueryText(raw)
		if err != nil || in.Failure != nil {
			b.Fatalf("DecodeQueryText: %v %+v", err, in.Failure)
		}
	}
}

// BenchmarkDecodeGETQueryParsed is how GET /i was read before
// DecodeQueryText, for comparison: url.ParseQuery, then DecodeRawQuery.
func BenchmarkDecodeGETQueryParsed(b *testing.B) {
	raw := benchEvent().query().Encode()
	b.ReportAllocs()
	for b.Loop() {
		q, err := url.ParseQuery(raw)
		if err != nil {
			b.Fatal(err)
		}
		in, err := DecodeRawQuery(q, raw)
		if err != nil || in.Failure != nil {
			b.Fatalf("DecodeRawQuery: %v %+v", err, in.Failure)
		}
	}
}

// BenchmarkOneEventLent is a request of one event as the server hands it
// to the decoders: with memory lent for its input (protocol.Request.Inputs),
// zeroed after each request as the server does. The cookie is off, so
// that only reading the event is measured.
func BenchmarkOneEventLent(b *testing.B) {
	opts := DefaultOptions()
	opts.Cookie.Enabled = false
	c := NewDecoders(opts)
	e := benchEvent()
	for _, bc := range []struct {
		name   string
		decode func(*protocol.Request) ([]event.Input, *protocol.Reply, error)
		req    *protocol.Request
	}{
		{"GET", c.Pixel, &protocol.Request{Method: http.MethodGet, Header: http.Header{}, RawQuery: e.query().Encode()}},
		{"POST", c.Post, &protocol.Request{Method: http.MethodPost, Header: http.Header{}, MediaType: MediaJSON,
			Body: []byte(payloadBody("1-0-4", e.json())), MaxEvents: 500}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			lent := new([1]event.Input)
			bc.req.Inputs = lent[:]
			b.ReportAllocs()
			for b.Loop() {
				ins, _, err := bc.decode(bc.req)
				if err != nil || len(ins) != 1 || ins[0].Failure != nil {
					b.Fatalf("%v, %d inputs", err, len(ins))
				}
				*lent = [1]event.Input{}
			}
		})
	}
}
