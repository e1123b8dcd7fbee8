package snowplow

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
)

// lentBefore is memory the server lends for a request's input
// (protocol.Request.Inputs) as it could be left by an earlier request:
// an event with every field set.
func lentBefore() []event.Input {
	return []event.Input{{SchemaKey: "iglu:com.acme/old/jsonschema/1-0-0", Data: []byte(`{"old":1}`), EventID: "old",
		Contexts: []event.Context{{Schema: "iglu:com.acme/old/jsonschema/1-0-0", Data: []byte(`{"old":2}`)}}, Namespace: "old",
		Identity:   event.Identity{UserID: "old", AnonymousID: "old", NetworkUserID: "old"},
		Attributes: []byte(`{"old":"3"}`), Raw: []byte("old"), Failure: event.NewFailure(event.SchemaViolation, "old"),
		Arbitrary: true, CheckedBy: "old", CreatedAt: time.Now(), SentAt: time.Now()}}
}

// lentCase is a request of each way Snowplow's events come in: its
// decoder, and how many events it holds.
type lentCase struct {
	name   string
	decode func(*protocol.Request) ([]event.Input, *protocol.Reply, error)
	req    func() *protocol.Request
	n      int
}

func lentCases() []lentCase {
	opts := DefaultOptions()
	// The cookie off: a new network user id for every request would
	// tell two decodings apart.
	opts.Cookie.Enabled = false
	opts.RedirectAllow = []string{"shop.example.com"}
	c := NewDecoders(opts)
	get := func(q string) func() *protocol.Request {
		return func() *protocol.Request {
			return &protocol.Request{Method: http.MethodGet, Header: http.Header{}, RawQuery: q}
		}
	}
	post := func(events ...string) func() *protocol.Request {
		return func() *protocol.Request {
			return &protocol.Request{Method: http.MethodPost, Header: http.Header{}, MediaType: MediaJSON,
				Body: []byte(payloadBody("1-0-4", events...)), MaxEvents: 500}
		}
	}
	to := "&u=" + url.QueryEscape("https://shop.example.com/")
	big := benchEvent().json()
	return []lentCase{
		{"GET /i page view", c.Pixel, get(ev("pv", "url", "https://a.example/").query().Encode()), 1},
		{"GET /i self-describing with contexts", c.Pixel, get(benchEvent().query().Encode()), 1},
		{"GET /i escapes and a failure", c.Pixel, get("e=ue&ue_pr=%7B%22x%22&uid=%C3%A9%22&co=" + url.QueryEscape(userContexts)), 1},
		{"GET custom path", c.Any, get(ev("se", "se_ca", "c", "se_ac", "a").query().Encode()), 1},
		{"GET /r/tp2 with an event", c.Redirect, get(ev("pv").query().Encode() + to), 1},
		{"GET /r/tp2 without an event", c.Redirect, get(to[1:]), 1},
		{"POST one event", c.Post, post(big), 1},
		{"POST one small event", c.Post, post(ev("ue", "ue_pr", checkoutUE, "co", userContexts).json()), 1},
		{"POST one escaped event", c.Post, post(`{"e":"pv","p":"web","tv":"js-3","u\u0069d":"\"u1\"","url":"caf\u00e9"}`), 1},
		{"POST one event that is not an object", c.Post, post("5"), 1},
		{"POST one failed event", c.Post, post(`{"e":"pv","p":5}`), 1},
		{"POST custom path", c.Any, post(ev("pv").json()), 1},
		{"POST no event", c.Post, post(), 0},
		{"POST two small events", c.Post, post(ev("pv").json(), ev("ue", "ue_pr", checkoutUE, "co", userContexts).json()), 2},
		{"POST ten events", c.Post, post(big, big, big, big, big, big, big, big, big, big), 10},
	}
}

// TestLentInputsAreSetAnew: a request of one event is read into the memory
// the server lends (protocol.Request.Inputs), which still holds what an
// earlier request left there; nothing of that is left in what is
// returned. A request of more events is read into memory of its own.
func TestLentInputsAreSetAnew(t *testing.T) {
	for _, tc := range lentCases() {
		t.Run(tc.name, func(t *testing.T) {
			want, _, err := tc.decode(tc.req())
			if err != nil || len(want) != tc.n {
				t.Fatalf("without lent memory: %v, %d inputs, want %d", err, len(want), tc.n)
			}
			req := tc.req()
			lent := lentBefore()
			req.Inputs = lent
			got, _, err := tc.decode(req)
			if err != nil || len(got) != tc.n {
				t.Fatalf("with lent memory: %v, %d inputs, want %d", err, len(got), tc.n)
			}
			if tc.n > 0 {
				if used := &got[0] == &lent[0]; used != (tc.n == 1) {
					t.Errorf("lent memory used %v, want %v", used, tc.n == 1)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("with lent memory\n%s\nwithout\n%s", render(got), render(want))
			}
		})
	}
}

// TestInputsOutliveTheLentMemory: the records made of a request's inputs
// keep what the inputs hold (their strings, Data, Contexts, Attributes,
// Raw, Failure) while the server reuses the memory it lent for them for
// the next request's event. Reading another request into that memory,
// and then zeroing it as the server does, must change nothing they hold.
func TestInputsOutliveTheLentMemory(t *testing.T) {
	cases := lentCases()
	for i, tc := range cases {
		if tc.n == 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			lent := lentBefore()
			req := tc.req()
			req.Inputs = lent
			got, _, err := tc.decode(req)
			if err != nil {
				t.Fatal(err)
			}
			// What the records keep: each Input's fields as they are.
			kept := slices.Clone(got)
			before := render(kept)
			// The next requests, into the same memory, then zeroed.
			for _, next := range []lentCase{cases[(i+1)%len(cases)], cases[(i+7)%len(cases)], tc} {
				req := next.req()
				req.Inputs = lent
				if _, _, err := next.decode(req); err != nil {
					t.Fatal(err)
				}
			}
			clear(lent)
			if after := render(kept); after != before {
				t.Errorf("the inputs changed as the lent memory was reused:\nbefore\n%s\nafter\n%s", before, after)
			}
		})
	}
}

// render shows everything inputs hold, the failure's messages included.
func render(inputs []event.Input) string {
	s := ""
	for _, in := range inputs {
		s += fmt.Sprintf("%+v\ndata %s\nattributes %s\nraw %s\n", in, in.Data, in.Attributes, in.Raw)
		for _, c := range in.Contexts {
			s += fmt.Sprintf("context %s %s\n", c.Schema, c.Data)
		}
		if in.Failure != nil {
			s += fmt.Sprintf("failure %+v\n", *in.Failure)
		}
	}
	return s
}
