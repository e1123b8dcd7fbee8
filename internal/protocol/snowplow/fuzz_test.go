package snowplow

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/snowplow/tp2raw"
)

// FuzzDecodeBody holds DecodeBody to what the HTTP layer and the pipeline
// rely on, for any body. The seed corpus is in testdata/fuzz/FuzzDecodeBody.
func FuzzDecodeBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		req := &protocol.Request{MediaType: MediaJSON, Body: body}
		ins, err := DecodeBody(req)
		trimmed := bytes.TrimPrefix(body, []byte("\ufeff"))
		if err != nil {
			var perr *protocol.Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %T %v is not a *protocol.Error", err, err)
			}
			if ins != nil {
				t.Fatalf("DecodeBody returned both an error and %d inputs", len(ins))
			}
			if perr.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", perr.Status)
			}
			eventtest.CheckFailureShape(t, perr.Failure, event.PayloadFormatViolation, event.ProtocolViolation)
			// A body is rejected as not JSON exactly when encoding/json
			// says it is not JSON.
			if perr.Failure.Type == event.PayloadFormatViolation && len(bytes.TrimSpace(trimmed)) > 0 && json.Valid(trimmed) && !repeatsName(trimmed) {
				t.Fatalf("valid JSON rejected as not JSON: %v", err)
			}
			return
		}
		var wrapper struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(trimmed, &wrapper); err != nil {
			t.Fatalf("body accepted, but encoding/json cannot read it: %v", err)
		}
		// One input per event sent, each holding the event's bytes.
		if len(ins) != len(wrapper.Data) {
			t.Fatalf("%d inputs for %d events", len(ins), len(wrapper.Data))
		}
		for i := range ins {
			checkFuzzInput(t, i, &ins[i])
			if !bytes.Equal(compact(t, ins[i].Raw), compact(t, wrapper.Data[i])) {
				t.Fatalf("input %d: raw %q is not event %d as sent, %q", i, ins[i].Raw, i, wrapper.Data[i])
			}
		}
		again, err := DecodeBody(req)
		if err != nil || !reflect.DeepEqual(ins, again) {
			t.Fatalf("second DecodeBody differs: %v", err)
		}
		// Read into memory the server lends, still holding an earlier
		// event: the same inputs.
		lent := *req
		lent.Inputs = lentBefore()
		if inLent, err := DecodeBody(&lent); err != nil || !reflect.DeepEqual(ins, inLent) {
			t.Fatalf("DecodeBody into lent memory differs: %v", err)
		}
		// Attributes put in order from their known names, as when every
		// name is sorted.
		sorted, err := decodeBody(req, ways{sortAll: true})
		if err != nil || !reflect.DeepEqual(ins, sorted) {
			t.Fatalf("attributes ordered from known names differ from sorted ones: %v", err)
		}
		// ue_px and cx decoded as they are read, or after the event.
		if late, err := decodeBody(req, ways{noPredecode: true}); err != nil || !reflect.DeepEqual(ins, late) {
			t.Fatalf("decoding the base64 payloads after each event differs: %v", err)
		}
	})
}

// FuzzDecodeQuery does the same for GET /i: the argument is a raw query
// string. The seed corpus is in testdata/fuzz/FuzzDecodeQuery.
func FuzzDecodeQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, rawQuery string) {
		q, _ := url.ParseQuery(rawQuery)
		in, err := DecodeQuery(q)
		if err != nil {
			var perr *protocol.Error
			if !errors.As(err, &perr) || len(q) != 0 {
				t.Fatalf("error %v for a query of %d parameters", err, len(q))
			}
			eventtest.CheckFailureShape(t, perr.Failure, event.PayloadFormatViolation, event.ProtocolViolation)
			return
		}
		if len(q) == 0 {
			t.Fatal("a query without parameters accepted")
		}
		checkFuzzInput(t, 0, &in)
		if string(in.Raw) != q.Encode() {
			t.Fatalf("raw %q is not the query %q", in.Raw, q.Encode())
		}
		if in.Failure == nil {
			// Attributes hold their fields exactly as sent.
			var attrs map[string]string
			if err := json.Unmarshal(in.Attributes, &attrs); err != nil {
				t.Fatalf("attributes %s: %v", in.Attributes, err)
			}
			for k, v := range attrs {
				if vs := q[k]; len(vs) == 0 || vs[0] != v {
					t.Fatalf("attribute %s is %q, the query has %q", k, v, vs)
				}
			}
		}
		again, _ := DecodeQuery(q)
		if !reflect.DeepEqual(in, again) {
			t.Fatalf("second DecodeQuery differs")
		}
		if late, _ := decodeRawQuery(q, "", ways{noPredecode: true}); !reflect.DeepEqual(in, late) {
			t.Fatalf("decoding the base64 payloads after the parameters differs")
		}
	})
}

// FuzzBase64 holds decoder.decodeBase64 to reading all four encodings trackers use,
// and to not panicking on anything else.
func FuzzBase64(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		// One decoder, as for the payloads of one request: the earlier
		// results must survive the later decodes into the shared buffer.
		var d decoder
		var kept [][]byte
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			s := enc.EncodeToString(data)
			got, err := d.decodeBase64(s)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("decodeBase64(%q) = %x, %v; want %x", s, got, err, data)
			}
			kept = append(kept, got)
		}
		defer func() {
			for _, got := range kept {
				if !bytes.Equal(got, data) {
					t.Fatalf("a payload changed to %x after later decodes; want %x", got, data)
				}
			}
		}()
		// Unpadded text in one alphabet, what trackers send, is decoded
		// without encoding/base64: it must read it exactly as that does,
		// and refuse what that refuses.
		text := string(data)
		if std, urlSafe := strings.ContainsAny(text, "+/ "), strings.ContainsAny(text, "-_"); !(std && urlSafe) && !strings.HasSuffix(strings.TrimRight(text, "\r\n"), "=") {
			enc := base64.RawURLEncoding
			if std {
				enc = base64.RawStdEncoding
			}
			want, werr := enc.DecodeString(strings.ReplaceAll(text, " ", "+"))
			got, gerr := tp2raw.DecodeBase64(text)
			if (werr == nil) != (gerr == nil) || werr == nil && !bytes.Equal(got, want) {
				t.Fatalf("DecodeBase64(%q) = %x, %v; encoding/base64 reads %x, %v", text, got, gerr, want, werr)
			}
		}
		if got, err := d.decodeBase64(string(data)); err == nil {
			// What decodes is what one of the encodings reads.
			ok := false
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
				if b, err := enc.DecodeString(string(bytes.ReplaceAll(data, []byte(" "), []byte("+")))); err == nil && bytes.Equal(b, got) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("decodeBase64(%q) = %x, which no base64 encoding reads", data, got)
			}
		}
	})
}

// checkFuzzInput checks what the pipeline relies on: an Input either failed,
// with a reason and its raw bytes, or names a contract and holds JSON data.
func checkFuzzInput(t *testing.T, i int, in *event.Input) {
	t.Helper()
	if in.Failure != nil {
		eventtest.CheckFailureShape(t, in.Failure, event.PayloadFormatViolation, event.ProtocolViolation)
		if len(in.Raw) == 0 {
			t.Fatalf("input %d failed without its raw bytes", i)
		}
	} else if in.SchemaKey == "" || !json.Valid(in.Data) || repeatsName(in.Data) {
		t.Fatalf("input %d has no failure, but schema %q and data %q", i, in.SchemaKey, in.Data)
	}
	if in.Data != nil && !json.Valid(in.Data) {
		t.Fatalf("input %d: data %q is not JSON", i, in.Data)
	}
	if in.Attributes != nil && !json.Valid(in.Attributes) {
		t.Fatalf("input %d: attributes %q are not JSON", i, in.Attributes)
	}
	for j, c := range in.Contexts {
		if c.Schema == "" || !json.Valid(c.Data) {
			t.Fatalf("input %d: context %d %+v is not a schema and JSON data", i, j, c)
		}
	}
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("compact %q: %v", b, err)
	}
	return buf.Bytes()
}

// repeatsName reports whether valid JSON b has an object that repeats a
// member name, which Accord refuses as data.
func repeatsName(b []byte) bool {
	_, _, err := jsonscan.Document(b, 0)
	return jsonscan.IsNotData(err)
}

// FuzzPayload is a differential test of the two ways a payload is read:
// in one pass (unstructOnce, contextsOnce), as every payload a tracker
// sends is, and the slow way that words each problem, which is how every
// payload was read before the one pass existed. For any document sent as
// ue_pr or co, both must give the event the same schema, data, contexts and
// failure. The seed corpus is in testdata/fuzz/FuzzPayload, and every
// payload of decodeVariants is added to it.
func FuzzPayload(f *testing.F) {
	for _, v := range decodeVariants() {
		for _, fl := range v.event {
			if fl[0] == "ue_pr" || fl[0] == "co" {
				f.Add(fl[1])
			}
			if fl[0] == "ue_px" || fl[0] == "cx" {
				if doc, err := base64.RawURLEncoding.DecodeString(fl[1]); err == nil && len(doc) < 4096 {
					f.Add(string(doc))
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, doc string) {
		for _, name := range []string{"ue_pr", "co"} {
			e := ev("ue", name, doc)
			if name == "co" {
				e = ev("pv", name, doc)
			}
			var fast, slow event.Input
			for _, in := range []*event.Input{&fast, &slow} {
				d := decoder{ways: ways{slowPayloads: in == &slow}}
				for _, f := range e {
					d.fields = append(d.fields, field{name: d.keep(f[0]), value: d.keep(f[1]), verbatim: textOf(f[0]) == verbatimText && textOf(f[1]) == verbatimText})
				}
				var p problems
				d.build(in, &p)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("%s %q: read in one pass\n%+v\nread the slow way\n%+v", name, doc, fast, slow)
			}
		}
	})
}
