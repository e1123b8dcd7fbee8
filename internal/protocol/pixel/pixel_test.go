package pixel

import (
	"bytes"
	"encoding/json"
	"image/gif"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/protocol"
)

func TestGIF(t *testing.T) {
	if len(GIF) != 43 {
		t.Errorf("GIF is %d bytes, want 43", len(GIF))
	}
	img, err := gif.Decode(bytes.NewReader(GIF))
	if err != nil {
		t.Fatalf("image/gif cannot decode GIF: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
		t.Fatalf("GIF is %dx%d, want 1x1", b.Dx(), b.Dy())
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("GIF's pixel has alpha %d, want transparent", a)
	}
}

func TestDecodeArbitrary(t *testing.T) {
	tests := []struct {
		name  string
		query string
		data  string
		// eventID, userID and anonymousID are the reserved parameters read.
		eventID, userID, anonymousID string
		// failure lists parts of the failure's messages; empty for none.
		failure []string
	}{
		{name: "no parameters", query: "", data: `{}`},
		{name: "one parameter", query: "campaign=spring", data: `{"campaign":"spring"}`},
		{name: "sorted by name", query: "z=1&a=2&m=3", data: `{"a":"2","m":"3","z":"1"}`},
		{name: "numbers stay text", query: "n=10&f=1.5&b=true", data: `{"b":"true","f":"1.5","n":"10"}`},
		{name: "repeated parameter", query: "tag=a&x=1&tag=b&tag=c", data: `{"tag":["a","b","c"],"x":"1"}`},
		{name: "empty value and no value", query: "a=&b", data: `{"a":"","b":""}`},
		{name: "escaped text", query: "q=%22hi%22+%5C+there%0A&%C3%A9t%C3%A9=%E2%82%AC", data: `{"q":"\"hi\" \\ there\n","été":"€"}`},
		{name: "reserved parameters are not data", query: "eid=e-1&uid=u-1&aid=a-1&redirect=https%3A%2F%2Fshop.example.com%2F&x=1",
			data: `{"x":"1"}`, eventID: "e-1", userID: "u-1", anonymousID: "a-1"},
		{name: "reserved parameter sent twice counts once", query: "eid=e-1&eid=e-2", data: `{}`, eventID: "e-1"},
		{name: "reserved names are case-sensitive", query: "EID=e-1", data: `{"EID":"e-1"}`},
		{name: "value not UTF-8", query: "ok=1&bad=%FF", data: `{"bad":"\ufffd","ok":"1"}`,
			failure: []string{"the parameter bad holds bytes that are not valid UTF-8"}},
		{name: "name not UTF-8", query: "%FF=1", data: `{"\ufffd":"1"}`,
			failure: []string{"a parameter name holds bytes that are not valid UTF-8"}},
		{name: "reserved value not UTF-8", query: "eid=%FF", data: `{}`, eventID: "\xff",
			failure: []string{"the parameter eid holds bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := parseQuery(t, tc.query)
			in := DecodeArbitrary(q)
			if !in.Arbitrary || in.SchemaKey != "" {
				t.Errorf("Arbitrary %v, schema %q; want an arbitrary event without schema", in.Arbitrary, in.SchemaKey)
			}
			checkCommon(t, &in, q)
			if string(in.Data) != tc.data {
				t.Errorf("data %s, want %s", in.Data, tc.data)
			}
			if in.EventID != tc.eventID || in.Identity.UserID != tc.userID || in.Identity.AnonymousID != tc.anonymousID {
				t.Errorf("event id %q, user %q, anonymous %q; want %q, %q, %q", in.EventID, in.Identity.UserID, in.Identity.AnonymousID,
					tc.eventID, tc.userID, tc.anonymousID)
			}
			checkFailure(t, in.Failure, tc.failure)
		})
	}
}

// checkCommon checks what holds for every Input: Raw is the query
// re-encoded, and Data a JSON object.
func checkCommon(t *testing.T, in *event.Input, q url.Values) {
	t.Helper()
	if string(in.Raw) != q.Encode() {
		t.Errorf("raw %q, want %q", in.Raw, q.Encode())
	}
	var obj map[string]any
	if err := json.Unmarshal(in.Data, &obj); err != nil || obj == nil {
		t.Errorf("data %s is not a JSON object: %v", in.Data, err)
	}
}

// checkFailure checks a pixel failure: none when parts is empty, else a
// payload format violation saying each of parts.
func checkFailure(t *testing.T, f *event.Failure, parts []string) {
	t.Helper()
	want := eventtest.Failure{Messages: parts}
	if len(parts) > 0 {
		want.Type = event.PayloadFormatViolation
	}
	eventtest.CheckFailure(t, "the event", f, want)
}

func TestUTF8FailureIsCapped(t *testing.T) {
	q := url.Values{}
	for _, name := range strings.Split("abcdefghijklmnopqrst", "") {
		q.Set(name, "\xff")
	}
	in := DecodeArbitrary(q)
	if in.Failure == nil || len(in.Failure.Messages) != protocol.MaxMessages+1 {
		t.Fatalf("failure %+v, want %d messages and a count of the rest", in.Failure, protocol.MaxMessages)
	}
	if last := in.Failure.Messages[protocol.MaxMessages].Message; !strings.Contains(last, "10 more parameters") {
		t.Errorf("last message %q does not count the 10 parameters left out", last)
	}
}

func parseQuery(t *testing.T, s string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(s)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", s, err)
	}
	return q
}

// emailOpened is a contract with a property of every kind a query
// parameter can be converted to.
const emailOpened = `{
	"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"self": {"vendor": "com.acme", "name": "email_opened", "format": "jsonschema", "version": "1-0-0"},
	"type": "object",
	"properties": {
		"campaign":   {"type": "string", "maxLength": 20},
		"recipients": {"type": "integer", "minimum": 0},
		"score":      {"type": "number"},
		"first_open": {"type": "boolean"},
		"coupon":     {"type": ["string", "null"], "minLength": 3},
		"retries":    {"type": ["integer", "null"]},
		"segments":   {"type": "array", "items": {"type": "integer"}},
		"labels":     {"type": "array"},
		"meta":       {"type": "object", "properties": {"source": {"type": "string"}}},
		"flag_or_n":  {"type": ["boolean", "integer"]},
		"tuple":      {"type": "array", "items": [{"type": "integer"}]},
		"any":        {},
		"nested":     {"type": "object", "properties": {"n": {"type": "integer"}}}
	},
	"required": ["campaign"]
}`

// closedForm is a contract that allows no properties but its own.
const closedForm = `{
	"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"self": {"vendor": "com.acme", "name": "form_viewed", "format": "jsonschema", "version": "1-0-0"},
	"type": "object",
	"properties": {"form": {"type": "string"}},
	"additionalProperties": false
}`

func compile(t testing.TB, doc string) *contract.Contract {
	t.Helper()
	c, err := contract.Compile([]byte(doc), contract.Key{}, "pixel_test.go")
	if err != nil {
		t.Fatalf("compile contract: %v", err)
	}
	return c
}

// validationProblem is one message validation is expected to give.
type validationProblem struct {
	path, keyword string
}

func TestDecodeTyped(t *testing.T) {
	email := compile(t, emailOpened)
	closed := compile(t, closedForm)
	tests := []struct {
		name     string
		contract *contract.Contract
		query    string
		data     string
		// problems are what validating data finds; nil when valid.
		problems []validationProblem
	}{
		{name: "integer", query: "campaign=spring&recipients=10", data: `{"campaign":"spring","recipients":10}`},
		{name: "integer with sign and zeros", query: "campaign=spring&recipients=%2B007", data: `{"campaign":"spring","recipients":7}`},
		{name: "integer that is not a number stays text", query: "campaign=spring&recipients=abc",
			data: `{"campaign":"spring","recipients":"abc"}`, problems: []validationProblem{{"/data/recipients", "type"}}},
		{name: "integer with a fraction stays text", query: "campaign=spring&recipients=1.5",
			data: `{"campaign":"spring","recipients":"1.5"}`, problems: []validationProblem{{"/data/recipients", "type"}}},
		{name: "integer beyond int64 stays text", query: "campaign=spring&recipients=9223372036854775808",
			data: `{"campaign":"spring","recipients":"9223372036854775808"}`, problems: []validationProblem{{"/data/recipients", "type"}}},
		{name: "integer converted, then checked against minimum", query: "campaign=spring&recipients=-1",
			data: `{"campaign":"spring","recipients":-1}`, problems: []validationProblem{{"/data/recipients", "minimum"}}},
		{name: "number as sent", query: "campaign=spring&score=12.50", data: `{"campaign":"spring","score":12.50}`},
		{name: "number with exponent", query: "campaign=spring&score=-1e3", data: `{"campaign":"spring","score":-1e3}`},
		{name: "number written loosely", query: "campaign=spring&score=.5", data: `{"campaign":"spring","score":0.5}`},
		{name: "integer is a number", query: "campaign=spring&score=3", data: `{"campaign":"spring","score":3}`},
		{name: "infinite number stays text", query: "campaign=spring&score=1e400",
			data: `{"campaign":"spring","score":"1e400"}`, problems: []validationProblem{{"/data/score", "type"}}},
		{name: "NaN stays text", query: "campaign=spring&score=NaN",
			data: `{"campaign":"spring","score":"NaN"}`, problems: []validationProblem{{"/data/score", "type"}}},
		{name: "hexadecimal stays text", query: "campaign=spring&score=0x1p3",
			data: `{"campaign":"spring","score":"0x1p3"}`, problems: []validationProblem{{"/data/score", "type"}}},
		{name: "boolean true", query: "campaign=spring&first_open=true", data: `{"campaign":"spring","first_open":true}`},
		{name: "boolean 0", query: "campaign=spring&first_open=0", data: `{"campaign":"spring","first_open":false}`},
		{name: "boolean yes stays text", query: "campaign=spring&first_open=yes",
			data: `{"campaign":"spring","first_open":"yes"}`, problems: []validationProblem{{"/data/first_open", "type"}}},
		{name: "integer before boolean", query: "campaign=spring&flag_or_n=1", data: `{"campaign":"spring","flag_or_n":1}`},
		{name: "boolean where integer fails", query: "campaign=spring&flag_or_n=true", data: `{"campaign":"spring","flag_or_n":true}`},
		{name: "nullable string empty is null", query: "campaign=spring&coupon=", data: `{"campaign":"spring","coupon":null}`},
		{name: "nullable string", query: "campaign=spring&coupon=SPRING24", data: `{"campaign":"spring","coupon":"SPRING24"}`},
		{name: "nullable integer empty is null", query: "campaign=spring&retries=", data: `{"campaign":"spring","retries":null}`},
		{name: "nullable integer", query: "campaign=spring&retries=2", data: `{"campaign":"spring","retries":2}`},
		{name: "empty string is not null where null is not allowed", query: "campaign=",
			data: `{"campaign":""}`},
		{name: "empty integer stays text", query: "campaign=spring&recipients=",
			data: `{"campaign":"spring","recipients":""}`, problems: []validationProblem{{"/data/recipients", "type"}}},
		{name: "array of integers", query: "campaign=spring&segments=1&segments=22", data: `{"campaign":"spring","segments":[1,22]}`},
		{name: "array sent once", query: "campaign=spring&segments=5", data: `{"campaign":"spring","segments":[5]}`},
		{name: "array sent once empty", query: "campaign=spring&segments=", data: `{"campaign":"spring","segments":[]}`},
		{name: "array item of the wrong type", query: "campaign=spring&segments=1&segments=x",
			data: `{"campaign":"spring","segments":[1,"x"]}`, problems: []validationProblem{{"/data/segments/1", "type"}}},
		{name: "array without items type", query: "campaign=spring&labels=1&labels=b", data: `{"campaign":"spring","labels":["1","b"]}`},
		{name: "tuple items stay text", query: "campaign=spring&tuple=1",
			data: `{"campaign":"spring","tuple":["1"]}`, problems: []validationProblem{{"/data/tuple/0", "type"}}},
		{name: "object", query: "campaign=spring&meta=" + url.QueryEscape(` {"source":"mail"} `),
			data: `{"campaign":"spring","meta":{"source":"mail"}}`},
		{name: "object checked inside", query: "campaign=spring&nested=" + url.QueryEscape(`{"n":"x"}`),
			data: `{"campaign":"spring","nested":{"n":"x"}}`, problems: []validationProblem{{"/data/nested/n", "type"}}},
		{name: "object that is not JSON stays text", query: "campaign=spring&meta=" + url.QueryEscape(`{source:mail}`),
			data: `{"campaign":"spring","meta":"{source:mail}"}`, problems: []validationProblem{{"/data/meta", "type"}}},
		{name: "array is not an object", query: "campaign=spring&meta=" + url.QueryEscape(`[1]`),
			data: `{"campaign":"spring","meta":"[1]"}`, problems: []validationProblem{{"/data/meta", "type"}}},
		{name: "scalar sent twice is an array", query: "campaign=spring&recipients=1&recipients=2",
			data: `{"campaign":"spring","recipients":[1,2]}`, problems: []validationProblem{{"/data/recipients", "type"}}},
		{name: "property without type stays text", query: "campaign=spring&any=1", data: `{"any":"1","campaign":"spring"}`},
		{name: "unknown parameter stays text", query: "campaign=spring&utm_source=news&n=1&n=2",
			data: `{"campaign":"spring","n":["1","2"],"utm_source":"news"}`},
		{name: "unknown parameter refused by the contract", contract: closed, query: "form=signup&utm_source=news",
			data: `{"form":"signup","utm_source":"news"}`, problems: []validationProblem{{"/data", "additionalProperties"}}},
		{name: "string stays text", query: "campaign=10", data: `{"campaign":"10"}`},
		{name: "missing required", query: "recipients=1", data: `{"recipients":1}`, problems: []validationProblem{{"/data", "required"}}},
		{name: "reserved parameters are not data", query: "campaign=spring&eid=e1&uid=u1&aid=a1&redirect=x", data: `{"campaign":"spring"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.contract
			if c == nil {
				c = email
			}
			q := parseQuery(t, tc.query)
			in := DecodeTyped(q, c)
			if in.Failure != nil {
				t.Fatalf("failed: %+v", in.Failure)
			}
			if in.Arbitrary || in.SchemaKey != c.URI {
				t.Errorf("Arbitrary %v, schema %q; want schema %q", in.Arbitrary, in.SchemaKey, c.URI)
			}
			checkCommon(t, &in, q)
			if string(in.Data) != tc.data {
				t.Errorf("data %s, want %s", in.Data, tc.data)
			}
			msgs, err := c.ValidateJSON(in.Data, "/data")
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			var got []validationProblem
			for _, m := range msgs {
				got = append(got, validationProblem{m.InstancePath, m.Keyword})
			}
			if len(got) != len(tc.problems) {
				t.Fatalf("validation found %+v, want %+v", msgs, tc.problems)
			}
			for i := range got {
				if got[i] != tc.problems[i] {
					t.Errorf("validation problem %d is %+v (%s), want %+v", i, got[i], msgs[i].Message, tc.problems[i])
				}
			}
		})
	}
}

// TestDecodeTypedTypeError shows the message a user sees for a value that
// could not be converted: it names the property and both types.
func TestDecodeTypedTypeError(t *testing.T) {
	c := compile(t, emailOpened)
	in := DecodeTyped(parseQuery(t, "campaign=spring&recipients=abc"), c)
	msgs, err := c.ValidateJSON(in.Data, "/data")
	if err != nil || len(msgs) != 1 {
		t.Fatalf("validation: %+v, %v; want one message", msgs, err)
	}
	if want := "/data/recipients must be integer, but is string"; msgs[0].Message != want {
		t.Errorf("message %q, want %q", msgs[0].Message, want)
	}
}

func TestDecodeTypedReservedAndUTF8(t *testing.T) {
	c := compile(t, emailOpened)
	in := DecodeTyped(parseQuery(t, "eid=e-1&uid=u-1&aid=a-1&recipients=%FF1"), c)
	if in.EventID != "e-1" || in.Identity.UserID != "u-1" || in.Identity.AnonymousID != "a-1" {
		t.Errorf("reserved parameters read as %q %+v", in.EventID, in.Identity)
	}
	checkFailure(t, in.Failure, []string{"the parameter recipients holds bytes that are not valid UTF-8"})
	if in.Failure != nil && in.Failure.Messages[0].InstancePath != "/recipients" {
		t.Errorf("failure at %q, want /recipients", in.Failure.Messages[0].InstancePath)
	}
}

func TestCoercerSchemaShapes(t *testing.T) {
	tests := []struct {
		name, properties, query, data string
	}{
		{name: "no properties", properties: ``, query: "n=1", data: `{"n":"1"}`},
		{name: "array or integer sent once", properties: `"properties": {"n": {"type": ["array", "integer"], "items": {"type": "boolean"}}},`,
			query: "n=1", data: `{"n":1}`},
		{name: "array or integer sent twice", properties: `"properties": {"n": {"type": ["array", "integer"], "items": {"type": "boolean"}}},`,
			query: "n=1&n=0", data: `{"n":[true,false]}`},
		{name: "nullable array empty", properties: `"properties": {"n": {"type": ["array", "null"]}},`, query: "n=", data: `{"n":null}`},
		{name: "nested properties are not read", properties: `"properties": {"o": {"type": "object", "properties": {"n": {"type": "integer"}}}},`,
			query: "n=1", data: `{"n":"1"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := compile(t, `{"$schema": "`+contract.IgluMetaSchemaURI+`",
				"self": {"vendor": "com.acme", "name": "shapes", "format": "jsonschema", "version": "1-0-0"}, `+
				tc.properties+` "type": "object"}`)
			in := NewCoercer(c).Decode(parseQuery(t, tc.query))
			if string(in.Data) != tc.data {
				t.Errorf("data %s, want %s", in.Data, tc.data)
			}
		})
	}
}

// TestCoercerConcurrent decodes with one Coercer from many goroutines, as
// the server does with its cached Coercers; -race reports any shared write.
func TestCoercerConcurrent(t *testing.T) {
	co := NewCoercer(compile(t, emailOpened))
	q := parseQuery(t, "campaign=spring&recipients=3&segments=1&segments=2&coupon=")
	want := `{"campaign":"spring","coupon":null,"recipients":3,"segments":[1,2]}`
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if in := co.Decode(q); string(in.Data) != want {
					t.Errorf("data %s, want %s", in.Data, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
