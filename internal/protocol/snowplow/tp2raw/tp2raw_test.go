package tp2raw

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
)

const (
	ue = `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"email":"a@b.c"}}}`
	co = `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1","data":[{"schema":"iglu:com.acme/user/jsonschema/1-0-0","data":{"id":"u"}}]}`
)

// upper is a rewrite that shows it ran: the document in upper case.
func upper(field string, doc []byte) ([]byte, error) { return bytes.ToUpper(doc), nil }

// Each payload field is rewritten and encoded as it came (base64 as
// base64url without padding); every other field is kept byte for byte.
func TestRewritePayloads(t *testing.T) {
	up := strings.ToUpper
	b64 := base64.RawURLEncoding.EncodeToString
	for _, tc := range []struct{ name, raw, want string }{
		{"post ue_pr and co", `{"e":"ue", "uid":"a\u0040b","ue_pr":"` + strings.ReplaceAll(ue, `"`, `\"`) + `","co":"` + strings.ReplaceAll(co, `"`, `\"`) + `"}`,
			`{"e":"ue","uid":"a\u0040b","ue_pr":"` + strings.ReplaceAll(up(ue), `"`, `\"`) + `","co":"` + strings.ReplaceAll(up(co), `"`, `\"`) + `"}`},
		{"post ue_px padded standard, cx", `{"ue_px":"` + base64.StdEncoding.EncodeToString([]byte(ue)) + `","cx":"` + b64([]byte(co)) + `","p":"web"}`,
			`{"ue_px":"` + b64([]byte(up(ue))) + `","cx":"` + b64([]byte(up(co))) + `","p":"web"}`},
		{"get ue_px and cx", "e=ue&url=https%3A%2F%2Fx&ue_px=" + b64([]byte(ue)) + "&cx=" + b64([]byte(co)),
			"e=ue&url=https%3A%2F%2Fx&ue_px=" + b64([]byte(up(ue))) + "&cx=" + b64([]byte(up(co)))},
		{"get ue_pr and co, a name encoded, a pair repeated", "ue%5Fpr=" + url.QueryEscape(ue) + "&co=" + url.QueryEscape(co) + "&co=" + url.QueryEscape(co) + "&x",
			"ue%5Fpr=" + url.QueryEscape(up(ue)) + "&co=" + url.QueryEscape(up(co)) + "&co=" + url.QueryEscape(up(co)) + "&x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, plain, err := RewritePayloads([]byte(tc.raw), upper)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("out\n%s, want\n%s", out, tc.want)
			}
			if !bytes.Contains(plain, []byte(up(ue))) || bytes.Contains(plain, []byte("a@b.c")) {
				t.Errorf("plain %q, want the rewritten documents and no payload as sent", plain)
			}
		})
	}
	// The other fields' values are in plain decoded, so that a caller finds
	// a value however it was escaped.
	for _, raw := range []string{`{"uid":"a\u0040b.c","ue_pr":"{}"}`, "uid=a%40b.c&ue_pr=%7B%7D"} {
		if _, plain, err := RewritePayloads([]byte(raw), upper); err != nil || !bytes.Contains(plain, []byte("a@b.c")) {
			t.Errorf("%s: plain %q (%v), want the uid decoded", raw, plain, err)
		}
	}
}

// A payload field that cannot be read fails the rewrite, and so does one
// the rewrite refuses.
func TestRewritePayloadsFails(t *testing.T) {
	for _, raw := range []string{
		`{"ue_px":"!!"}`, `{"co":{"data":[]}}`, `{"ue_pr":"{}"} x`, `{"ue_pr":`,
		"ue_px=%ZZ", "cx=a-b+c", "{\"ue_pr\":\"\xd4\"}",
	} {
		if out, _, err := RewritePayloads([]byte(raw), upper); err == nil {
			t.Errorf("%s: rewritten as %s, want an error", raw, out)
		}
	}
	refuse := errors.New("refused")
	if _, _, err := RewritePayloads([]byte("e=pv&co=x"), func(string, []byte) ([]byte, error) { return nil, refuse }); !errors.Is(err, refuse) {
		t.Errorf("error %v, want the rewrite's", err)
	}
}

// FuzzRewritePayloads rewrites arbitrary raw input: no panic, and where it
// succeeds, the output reads back to the same documents, so rewriting it
// again changes nothing.
func FuzzRewritePayloads(f *testing.F) {
	b64 := base64.RawURLEncoding.EncodeToString
	for _, seed := range []string{
		`{"e":"ue","ue_pr":"` + strings.ReplaceAll(ue, `"`, `\"`) + `","co":"` + strings.ReplaceAll(co, `"`, `\"`) + `"}`,
		`{"e":"ue","ue_px":"` + base64.StdEncoding.EncodeToString([]byte(ue)) + `","cx":"` + b64([]byte(co)) + `"}`,
		"e=ue&ue_px=" + b64([]byte(ue)) + "&cx=" + b64([]byte(co)) + "&p=web",
		"ue_pr=" + url.QueryEscape(ue) + "&co=" + url.QueryEscape(co),
		"cx=" + base64.StdEncoding.EncodeToString([]byte(co)) + "&cx=" + b64([]byte(co)),
		`{"ue_pr":"\ud800","cx":"e30="}`, `{"ue_px":"a b"}`, "ue_px=a+b&&=&co", `{"co":1}`, "", "{", "%",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var docs [][]byte
		record := func(_ string, doc []byte) ([]byte, error) {
			docs = append(docs, doc)
			return doc, nil
		}
		out, _, err := RewritePayloads(raw, record)
		if err != nil {
			return
		}
		first := docs
		docs = nil
		again, _, err := RewritePayloads(out, record)
		if err != nil {
			t.Fatalf("%q rewritten as %q, which fails: %v", raw, out, err)
		}
		if !slices.EqualFunc(first, docs, bytes.Equal) {
			t.Fatalf("%q rewritten as %q reads back other documents: %q, then %q", raw, out, first, docs)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("%q rewritten as %q, then as %q", raw, out, again)
		}
	})
}
