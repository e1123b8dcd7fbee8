package snowplow

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

var update = flag.Bool("update", false, "rewrite testdata/decode/golden.txt from what the decoder returns now")

// TestDecodeGolden is a differential test of the decoder against itself as
// it was: testdata/decode/golden.txt holds what the decoder of commit
// e734056 (before decoding was made faster, issue 15) returned for every
// input of the corpus, rendered in full (every field of every Input, every
// message of every failure, every error). The corpus is what the real
// snowplow-golang-tracker sends (testdata/decode/golang-tracker.json,
// captured from it), the fuzz seeds of FuzzDecodeBody and FuzzDecodeQuery,
// and hostile and unusual variants of a JavaScript tracker's event
// (decodeVariants). A change to what the decoder returns shows up here as
// a difference; -update rewrites the file, for a change meant to be seen
// by users.
func TestDecodeGolden(t *testing.T) {
	var out bytes.Buffer
	for _, c := range decodeCorpus(t) {
		fmt.Fprintf(&out, "=== %s (%s)\n", c.name, c.kind)
		switch c.kind {
		case "body":
			for _, media := range []string{MediaJSON} {
				ins, err := DecodeBody(&protocol.Request{MediaType: media, Body: []byte(c.input), MaxEvents: 500})
				renderDecoded(&out, ins, err)
				// The payloads decoded as they are read must read as
				// the ones decoded after.
				late, lerr := decodeBody(&protocol.Request{MediaType: media, Body: []byte(c.input), MaxEvents: 500}, ways{noPredecode: true})
				var a, b bytes.Buffer
				renderDecoded(&a, ins, err)
				renderDecoded(&b, late, lerr)
				if a.String() != b.String() {
					t.Errorf("%s: decoding base64 payloads as they are read differs:\n%s\n%s", c.name, a.String(), b.String())
				}
			}
		case "query":
			q, err := url.ParseQuery(c.input)
			fmt.Fprintf(&out, "parse error: %v\n", err != nil)
			in, err := DecodeRawQuery(q, c.input)
			renderDecoded(&out, []event.Input{in}, err)
			late, lerr := decodeRawQuery(q, c.input, ways{noPredecode: true})
			var la, lb bytes.Buffer
			renderDecoded(&la, []event.Input{in}, err)
			renderDecoded(&lb, []event.Input{late}, lerr)
			if la.String() != lb.String() {
				t.Errorf("%s: decoding base64 payloads as they are read differs:\n%s\n%s", c.name, la.String(), lb.String())
			}
			// DecodeQuery differs only in Raw (the query re-encoded).
			in2, err2 := DecodeQuery(q)
			in2.Raw, in.Raw = nil, nil
			var a, b bytes.Buffer
			renderDecoded(&a, []event.Input{in}, err)
			renderDecoded(&b, []event.Input{in2}, err2)
			if a.String() != b.String() {
				t.Errorf("%s: DecodeQuery and DecodeRawQuery differ beyond Raw:\n%s\n%s", c.name, a.String(), b.String())
			}
		}
	}
	path := filepath.Join("testdata", "decode", "golden.txt")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		got, wantLines := strings.Split(out.String(), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(got), len(wantLines)); i++ {
			g, w := "", ""
			if i < len(got) {
				g = got[i]
			}
			if i < len(wantLines) {
				w = wantLines[i]
			}
			if g != w {
				t.Fatalf("decoded differently from %s at line %d:\ngot:  %s\nwant: %s", path, i+1, g, w)
			}
		}
	}
}

type corpusEntry struct {
	name, kind, input string
}

// decodeCorpus returns the corpus of TestDecodeGolden, in a fixed order.
func decodeCorpus(t *testing.T) []corpusEntry {
	t.Helper()
	var corpus []corpusEntry
	b, err := os.ReadFile(filepath.Join("testdata", "decode", "golang-tracker.json"))
	if err != nil {
		t.Fatal(err)
	}
	var captured []struct{ Kind, Input string }
	if err := json.Unmarshal(b, &captured); err != nil {
		t.Fatal(err)
	}
	for i, c := range captured {
		corpus = append(corpus, corpusEntry{fmt.Sprintf("golang-tracker/%d", i), c.Kind, c.Input})
	}
	for _, seeds := range []struct{ dir, kind string }{{"FuzzDecodeBody", "body"}, {"FuzzDecodeQuery", "query"}} {
		files, err := filepath.Glob(filepath.Join("testdata", "fuzz", seeds.dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			corpus = append(corpus, corpusEntry{seeds.dir + "/" + filepath.Base(f), seeds.kind, fuzzSeed(t, f)})
		}
	}
	for _, v := range decodeVariants() {
		corpus = append(corpus, corpusEntry{"variant/" + v.name + "/post", "body", payloadBody("1-0-4", v.event.json())})
		corpus = append(corpus, corpusEntry{"variant/" + v.name + "/get", "query", v.event.query().Encode()})
	}
	return corpus
}

// fuzzSeed reads the one value of a seed file of the Go fuzzer.
func fuzzSeed(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", 2)
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s is not a seed file", path)
	}
	v := lines[1]
	v = strings.TrimPrefix(strings.TrimPrefix(v, "[]byte("), "string(")
	s, err := strconv.Unquote(strings.TrimSuffix(v, ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

type variant struct {
	name  string
	event fields
}

// decodeVariants are events of the JavaScript tracker's shape (benchEvent)
// with their payloads, fields and encodings varied: what other trackers
// send, and what a hostile client can.
func decodeVariants() []variant {
	raw := base64.RawURLEncoding.EncodeToString
	std := base64.StdEncoding.EncodeToString
	ue := func(inner string) string {
		return `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":` + inner + `}`
	}
	cx := func(list string) string {
		return `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":` + list + `}`
	}
	sd := func(schema, data string) string { return `{"schema":"` + schema + `","data":` + data + `}` }
	good := sd("iglu:com.acme/checkout_completed/jsonschema/1-2-0", `{"order_id":"ord_1","total":129.95,"items":[1,2,{"a":null}]}`)
	ctx := sd("iglu:com.acme/user/jsonschema/1-0-0", `{"plan":"pro"}`)
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

	// Self-describing event payloads (ue_px), each also sent as ue_pr.
	ues := []struct{ name, doc string }{
		{"plain", ue(good)},
		{"spaces", " \n" + strings.ReplaceAll(ue(good), ":", " : ") + "\t\r\n"},
		{"members_reversed", `{"data":` + good + `,"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"}`},
		{"inner_members_reversed", ue(`{"data":{"x":1},"schema":"iglu:com.acme/x/jsonschema/1-0-0"}`)},
		{"escaped_outer_schema", `{"schema":"iglu:com.snowplowanalytics.snowplow\/unstruct_event/jsonschema/1-0-0","data":` + good + `}`},
		{"escaped_inner_schema", ue(`{"schema":"iglu:com.acme\/x\u002fjsonschema/1-0-0","data":{}}`)},
		{"escaped_member_name", `{"sch\u0065ma":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":` + good + `}`},
		{"escaped_inner_member_name", ue(`{"schema":"iglu:com.acme/x/jsonschema/1-0-0","d\u0061ta":{}}`)},
		{"unicode_data", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", `{"note":"café \u00e9 \u2028 😀","s":"\ud83d\ude00"}`))},
		{"inner_data_string", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", `"text"`))},
		{"inner_data_null", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", `null`))},
		{"wrong_outer_schema", `{"schema":"iglu:com.acme/unstruct_event/jsonschema/1-0-0","data":` + good + `}`},
		{"outer_schema_number", `{"schema":5,"data":` + good + `}`},
		{"inner_schema_number", ue(`{"schema":5,"data":{}}`)},
		{"inner_schema_empty", ue(`{"schema":"","data":{}}`)},
		{"no_outer_schema", `{"data":` + good + `}`},
		{"no_outer_data", `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"}`},
		{"no_inner_data", ue(`{"schema":"iglu:com.acme/x/jsonschema/1-0-0"}`)},
		{"no_inner_schema", ue(`{"data":{}}`)},
		{"unknown_outer_member", `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":` + good + `,"extra":1}`},
		{"unknown_inner_member", ue(`{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":{},"extra":[1]}`)},
		{"repeated_outer_schema", `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","schema":"x","data":` + good + `}`},
		{"repeated_inner_data", ue(`{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":{},"data":{}}`)},
		{"repeated_name_in_data", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", `{"total":-5,"total":5}`))},
		{"repeated_escaped_name_in_data", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", `{"total":-5,"tot\u0061l":5}`))},
		{"number_beyond_float", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", `{"n":1e999999}`))},
		{"outer_not_object", `["schema","data"]`},
		{"inner_not_object", ue(`"iglu:com.acme/x/jsonschema/1-0-0"`)},
		{"not_json", `{"schema":`},
		{"trailing_data", ue(good) + ` {}`},
		{"bad_syntax_late", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", `{"a":[1,2,]}`))},
		{"control_character", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", "{\"a\":\"x\ty\"}"))},
		{"empty", ``},
		{"deep_9997", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", deep(9997)))},
		{"deep_9998", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", deep(9998)))},
		{"deep_9999", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", deep(9999)))},
		{"deep_20000", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", deep(20000)))},
		{"large", ue(sd("iglu:com.acme/x/jsonschema/1-0-0", `{"s":"`+strings.Repeat("abcdefghij", 20000)+`"}`))},
	}
	// Contexts payloads (cx), each also sent as co.
	cxs := []struct{ name, doc string }{
		{"two", cx(`[` + ctx + `,` + sd("iglu:com.acme/page/jsonschema/1-0-0", `{"id":"0b4c"}`) + `]`)},
		{"none", cx(`[]`)},
		{"five", cx(`[` + strings.Repeat(ctx+",", 4) + ctx + `]`)},
		{"version_1_0_1", `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1","data":[` + ctx + `]}`},
		{"version_2_0_0", `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/2-0-0","data":[` + ctx + `]}`},
		{"escaped_schema", `{"schema":"iglu:com.snowplowanalytics.snowplow\/contexts/jsonschema/1-0-0","data":[` + ctx + `]}`},
		{"escaped_context_schema", cx(`[{"schema":"iglu:com.acme\/user/jsonschema/1-0-0","data":{}}]`)},
		{"members_reversed", `{"data":[` + ctx + `],"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0"}`},
		{"data_not_array", cx(ctx)},
		{"context_not_object", cx(`[` + ctx + `,"x",3]`)},
		{"context_no_schema", cx(`[{"data":{}},` + ctx + `]`)},
		{"context_empty_schema", cx(`[{"schema":"","data":{}}]`)},
		{"context_no_data", cx(`[{"schema":"iglu:com.acme/user/jsonschema/1-0-0"}]`)},
		{"context_unknown_member", cx(`[{"schema":"iglu:com.acme/user/jsonschema/1-0-0","data":{},"x":1}]`)},
		{"context_repeated_name", cx(`[{"schema":"iglu:com.acme/user/jsonschema/1-0-0","data":{"a":1,"a":2}}]`)},
		{"context_data_array", cx(`[{"schema":"iglu:com.acme/user/jsonschema/1-0-0","data":[1,{"b":[]}]}]`)},
		{"trailing_comma", cx(`[` + ctx + `,]`)},
		{"deep_9996", cx(`[` + sd("iglu:com.acme/x/jsonschema/1-0-0", deep(9996)) + `]`)},
		{"deep_9997", cx(`[` + sd("iglu:com.acme/x/jsonschema/1-0-0", deep(9997)) + `]`)},
		{"deep_9998", cx(`[` + sd("iglu:com.acme/x/jsonschema/1-0-0", deep(9998)) + `]`)},
		{"not_object", `[]`},
		{"wrong_schema", sd("iglu:com.acme/contexts/jsonschema/1-0-0", `[`+ctx+`]`)},
	}
	var vs []variant
	withPayloads := func(name string, e fields, ue, cx string) variant {
		out := fields{}
		for _, f := range e {
			switch f[0] {
			case "ue_px":
				if ue != "" {
					out = append(out, [2]string{"ue_px", ue})
				}
			case "cx":
				if cx != "" {
					out = append(out, [2]string{"cx", cx})
				}
			default:
				out = append(out, f)
			}
		}
		return variant{name, out}
	}
	bench := benchEvent()
	for _, u := range ues {
		vs = append(vs, withPayloads("ue_px/"+u.name, bench, raw([]byte(u.doc)), ""))
		v := withPayloads("ue_pr/"+u.name, bench, "", "")
		vs = append(vs, variant{v.name, v.event.with("ue_pr", u.doc)})
	}
	for _, c := range cxs {
		vs = append(vs, withPayloads("cx/"+c.name, bench, raw([]byte(ues[0].doc)), raw([]byte(c.doc))))
		v := withPayloads("co/"+c.name, bench, raw([]byte(ues[0].doc)), "")
		vs = append(vs, variant{v.name, v.event.with("co", c.doc)})
	}
	// Encodings of the payloads, and broken ones.
	doc := []byte(ues[0].doc)
	for _, e := range []struct{ name, ue string }{
		{"std_padded", std(doc)},
		{"std_raw", base64.RawStdEncoding.EncodeToString(doc)},
		{"url_padded", base64.URLEncoding.EncodeToString(doc)},
		{"std_spaces_for_plus", strings.ReplaceAll(std([]byte(ue(sd("iglu:com.acme/x/jsonschema/1-0-0", `{"s":">>>???"}`)))), "+", " ")},
		{"mixed_alphabets", raw(doc) + "-+"},
		{"illegal_character", raw(doc)[:20] + "*" + raw(doc)[21:]},
		{"truncated", raw(doc)[:len(raw(doc))-3]},
		{"invalid_utf8", raw(append([]byte(ue(sd("iglu:com.acme/x/jsonschema/1-0-0", `{"s":"`))), append([]byte{0xff, 0xfe}, `"}}}`...)...))},
		{"huge", raw([]byte(ue(sd("iglu:com.acme/x/jsonschema/1-0-0", `{"s":"`+strings.Repeat("x", 1<<20)+`"}`))))},
	} {
		vs = append(vs, withPayloads("encoding/"+e.name, bench, e.ue, raw([]byte(cxs[0].doc))))
	}
	both := withPayloads("both_ue_px_and_ue_pr", bench, raw(doc), "")
	vs = append(vs, variant{both.name, both.event.with("ue_pr", ues[0].doc)})
	bothCx := withPayloads("both_cx_and_co", bench, raw(doc), raw([]byte(cxs[0].doc)))
	vs = append(vs, variant{bothCx.name, bothCx.event.with("co", cxs[0].doc)})
	// The event's own fields.
	for _, f := range []struct {
		name string
		more []string
	}{
		{"escaped_and_unicode_values", []string{"page", "Caf\u00e9 \"quoted\" \\ back/slash \u2028 \u2029 😀", "ua", "Mozilla/5.0 \t tab"}},
		{"control_characters", []string{"page", "a\x01b\x1fc\nd\re"}},
		{"long_names", []string{"averyveryverylongattributename", "1", "averyveryverylongattributenamf", "2", "a", "3", "aa", "4", "ab_", "5"}},
		{"names_sharing_prefixes", []string{"co_x", "1", "cd2", "2", "c", "3", "cookie2", "4", "cookiz", "5", "cookie_", "6"}},
		{"unicode_names", []string{"ñame", "1", "名前", "2", "a\u2028", "3"}},
		{"repeated_attribute", []string{"aid", "again", "res", "1x1"}},
		{"repeated_own_field", []string{"eid", "other", "dtm", "1"}},
		{"empty_values", []string{"lang", "", "tz", "", "url", ""}},
		{"bad_times", []string{"dtm", "soon", "stm", "-1"}},
		{"tnuid", []string{"nuid", "n1", "tnuid", "n2"}},
		{"type_specific_of_other_type", []string{"se_ca", "c", "tr_id", "o", "pp_mix", "1"}},
	} {
		out := fields{}
		drop := map[string]bool{}
		for i := 0; i+1 < len(f.more); i += 2 {
			if f.more[i] == "dtm" || f.more[i] == "stm" || f.more[i] == "lang" || f.more[i] == "tz" || f.more[i] == "url" || f.more[i] == "page" {
				drop[f.more[i]] = true
			}
		}
		for _, x := range bench {
			if !drop[x[0]] {
				out = append(out, x)
			}
		}
		vs = append(vs, variant{"fields/" + f.name, out.with(f.more...)})
	}
	// Every built-in type, with the JavaScript tracker's fields around it.
	for _, typed := range []fields{
		ev("pv", "url", "https://a.example/?q=1", "page", "Home", "refr", "https://b.example/"),
		ev("pp", "url", "https://a.example/", "pp_mix", "0", "pp_max", "10", "pp_miy", "-5", "pp_may", "x"),
		ev("se", "se_ca", "c", "se_ac", "a", "se_la", "l", "se_pr", "p", "se_va", "1.5e2"),
		ev("ev", "se_ca", "c", "se_ac", "a", "se_va", "$5"),
		ev("tr", "tr_id", "o", "tr_tt", "10.5", "tr_tx", "1", "tr_sh", "2", "tr_cu", "EUR", "tr_af", "x", "tr_ci", "c", "tr_st", "s", "tr_co", "GB"),
		ev("ti", "ti_id", "o", "ti_sk", "s", "ti_nm", "n", "ti_ca", "c", "ti_pr", "9.99", "ti_qu", "2", "ti_cu", "EUR"),
		ev("xx"),
		{{"p", "web"}},
	} {
		name := "type/none"
		if len(typed) > 0 && typed[0][0] == "e" {
			name = "type/" + typed[0][1]
		}
		vs = append(vs, variant{name, append(typed, bench[3:]...)})
	}
	return vs
}

// renderDecoded writes every field of what a decode returned.
func renderDecoded(out *bytes.Buffer, ins []event.Input, err error) {
	if err != nil {
		fmt.Fprintf(out, "error: %s\n", clipRender(err.Error()))
		var perr *protocol.Error
		if pe, ok := err.(*protocol.Error); ok {
			perr = pe
			fmt.Fprintf(out, "status: %d\n", perr.Status)
			renderFailure(out, perr.Failure)
		}
		fmt.Fprintf(out, "inputs: %d\n", len(ins))
		return
	}
	fmt.Fprintf(out, "inputs: %d\n", len(ins))
	for i, in := range ins {
		fmt.Fprintf(out, "- input %d\n", i)
		fmt.Fprintf(out, "  schema: %q\n", in.SchemaKey)
		fmt.Fprintf(out, "  data: %s\n", clipRender(fmt.Sprintf("%q nil=%v", in.Data, in.Data == nil)))
		fmt.Fprintf(out, "  contexts: %d nil=%v\n", len(in.Contexts), in.Contexts == nil)
		for _, c := range in.Contexts {
			fmt.Fprintf(out, "  - %q %s\n", c.Schema, clipRender(fmt.Sprintf("%q", c.Data)))
		}
		fmt.Fprintf(out, "  event_id: %q namespace: %q\n", in.EventID, in.Namespace)
		fmt.Fprintf(out, "  created_at: %s sent_at: %s\n", in.CreatedAt.Format("2006-01-02T15:04:05.000Z07:00 MST"), in.SentAt.Format("2006-01-02T15:04:05.000Z07:00 MST"))
		fmt.Fprintf(out, "  identity: %q %q %q\n", in.Identity.UserID, in.Identity.AnonymousID, in.Identity.NetworkUserID)
		fmt.Fprintf(out, "  attributes: %s\n", clipRender(fmt.Sprintf("%q", in.Attributes)))
		fmt.Fprintf(out, "  raw: %s\n", clipRender(fmt.Sprintf("%q", in.Raw)))
		fmt.Fprintf(out, "  arbitrary: %v\n", in.Arbitrary)
		renderFailure(out, in.Failure)
		// Data and Contexts must be JSON, whatever they came from.
		if in.Failure == nil && in.Data != nil {
			if _, _, err := jsonscan.Document(in.Data, 0); err != nil {
				fmt.Fprintf(out, "  DATA IS NOT JSON: %v\n", err)
			}
		}
	}
}

func renderFailure(out *bytes.Buffer, f *event.Failure) {
	if f == nil {
		fmt.Fprintf(out, "  failure: none\n")
		return
	}
	fmt.Fprintf(out, "  failure: %s\n", f.Type)
	for _, m := range f.Messages {
		b, _ := json.Marshal(m)
		fmt.Fprintf(out, "  - %s\n", clipRender(string(b)))
	}
}

// clipRender keeps golden.txt small: a long text is written as its
// length, its start and its SHA-256.
func clipRender(s string) string {
	if len(s) <= 600 {
		return s
	}
	return fmt.Sprintf("%s... (%d bytes, sha256 %x)", s[:300], len(s), sha256.Sum256([]byte(s)))
}
