package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// FuzzDecode holds Decode to what the HTTP layer and the pipeline rely on, for
// any body: a *protocol.Error, or exactly one event whose data is UTF-8 JSON
// and agrees with the standard library's reading of the body. The seed
// corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	src := Source{Name: "github", Schema: pushSchema}
	header := headers("Content-Type", "application/json", "X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256=00")
	f.Fuzz(func(t *testing.T, mediaType string, body []byte) {
		req := &protocol.Request{Header: header, MediaType: mediaType, Body: body}
		ins, err := Decode(req, src)
		trimmed := bytes.Trim(body[protocol.SkipBOM(body):], " \t\r\n")
		jsonMedia := mediaType == "" || mediaType == MediaJSON
		formMedia := mediaType == MediaForm

		if err != nil {
			var perr *protocol.Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %T %v is not a *protocol.Error", err, err)
			}
			if ins != nil {
				t.Fatalf("Decode returned both an error and %d inputs", len(ins))
			}
			if perr.Failure == nil || perr.Failure.Type != event.PayloadFormatViolation || len(perr.Failure.Messages) == 0 || perr.Failure.Messages[0].Message == "" {
				t.Fatalf("error %+v is not a payload_format_violation with a message", perr.Failure)
			}
			switch perr.Status {
			case http.StatusUnsupportedMediaType:
				if jsonMedia || formMedia {
					t.Fatalf("415 for accepted media type %q", mediaType)
				}
			case http.StatusBadRequest:
				// The body is refused exactly when the standard library
				// cannot read it either.
				if len(trimmed) > 0 && utf8.Valid(trimmed) {
					// ... or it repeats a member name, which Accord refuses.
					if _, _, derr := jsonscan.Document(trimmed, 0); jsonMedia && json.Valid(trimmed) && !jsonscan.IsNotData(derr) {
						t.Fatalf("valid JSON refused: %v", err)
					}
					if formMedia {
						if _, qerr := stdForm(trimmed); qerr == nil {
							t.Fatalf("valid form refused: %v", err)
						}
					}
				}
			default:
				t.Fatalf("status %d, want 400 or 415", perr.Status)
			}
			return
		}
		if !jsonMedia && !formMedia {
			t.Fatalf("media type %q accepted", mediaType)
		}
		if len(ins) != 1 {
			t.Fatalf("%d inputs, want exactly 1", len(ins))
		}
		in := &ins[0]
		if in.Failure != nil {
			t.Fatalf("input carries a failure: %+v", in.Failure)
		}
		if len(in.Data) == 0 || !json.Valid(in.Data) || !utf8.Valid(in.Data) {
			t.Fatalf("data %q is not UTF-8 JSON", in.Data)
		}
		if !bytes.Equal(in.Raw, body) {
			t.Fatalf("raw %q is not the body %q", in.Raw, body)
		}
		if !json.Valid(in.Attributes) || in.SchemaKey != src.Schema || in.Arbitrary {
			t.Fatalf("attributes %s, schema %q, arbitrary %t", in.Attributes, in.SchemaKey, in.Arbitrary)
		}
		if jsonMedia {
			// The data is the document as sent.
			if !bytes.Equal(in.Data, trimmed) {
				t.Fatalf("data %q is not the body %q", in.Data, trimmed)
			}
			var obj map[string]any
			wantID := ""
			if json.Unmarshal(trimmed, &obj) == nil {
				if id, ok := obj["id"].(string); ok && strings.HasPrefix(id, "evt_") {
					wantID = id
				}
			}
			if in.EventID != wantID {
				t.Fatalf("event id %q, encoding/json reads %q", in.EventID, wantID)
			}
		} else {
			want, qerr := stdForm(trimmed)
			if qerr != nil {
				t.Fatalf("form accepted that net/url refuses: %v", qerr)
			}
			var got map[string]any
			if err := json.Unmarshal(in.Data, &got); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("data %s, net/url reads %v (%v)", in.Data, want, err)
			}
		}
		// Decoding is deterministic.
		again, err := Decode(req, src)
		if err != nil || !reflect.DeepEqual(ins, again) {
			t.Fatalf("second Decode differs: %v", err)
		}
	})
}

// stdForm reads a form body with net/url into what its JSON object must
// decode to, or fails when the form is not valid UTF-8.
func stdForm(body []byte) (map[string]any, error) {
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(values))
	for k, vs := range values {
		if !utf8.ValidString(k) {
			return nil, errors.New("name not UTF-8")
		}
		list := make([]any, len(vs))
		for i, v := range vs {
			if !utf8.ValidString(v) {
				return nil, errors.New("value not UTF-8")
			}
			list[i] = v
		}
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = list
		}
	}
	return out, nil
}

// The delivery FuzzVerifyStripe checks headers against. The seeds in
// testdata/fuzz/FuzzVerifyStripe hold signatures of it.
const (
	fuzzStripeSecret = "whsec_fuzz"
	fuzzStripeBody   = `{"id":"evt_1","object":"event"}`
	fuzzStripeNow    = 1_700_000_000
)

// FuzzVerifyStripe holds Verify to Stripe's scheme for any Stripe-Signature
// value: an ErrSignature for anything but a timestamp within tolerance and a
// v1 that is the HMAC of "<t>.<body>". The seed corpus is in
// testdata/fuzz/FuzzVerifyStripe.
func FuzzVerifyStripe(f *testing.F) {
	sig := Signature{Kind: KindStripe, Secret: fuzzStripeSecret}
	now := time.Unix(fuzzStripeNow, 0)
	f.Fuzz(func(t *testing.T, value string) {
		h := http.Header{}
		h.Set(HeaderStripe, value)
		err := Verify(sig, h, []byte(fuzzStripeBody), now)
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("error %v does not wrap ErrSignature", err)
			}
			return
		}
		// Accepted: check the header by hand.
		var ts []string
		var v1s []string
		for _, item := range strings.Split(h.Get(HeaderStripe), ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok {
				t.Fatalf("accepted %q with item %q that is not key=value", value, item)
			}
			switch k {
			case "t":
				ts = append(ts, v)
			case "v1":
				v1s = append(v1s, strings.ToLower(v))
			}
		}
		if len(ts) != 1 {
			t.Fatalf("accepted %q with %d timestamps", value, len(ts))
		}
		unix, perr := strconv.ParseInt(ts[0], 10, 64)
		if perr != nil || unix < fuzzStripeNow-300 || unix > fuzzStripeNow+300 {
			t.Fatalf("accepted %q with timestamp %q outside 5m of %d", value, ts[0], fuzzStripeNow)
		}
		want := hexMAC(t, fuzzStripeSecret, ts[0]+"."+fuzzStripeBody)
		found := false
		for _, v := range v1s {
			found = found || v == want
		}
		if !found {
			t.Fatalf("accepted %q, whose v1 signatures are not %s", value, want)
		}
	})
}
