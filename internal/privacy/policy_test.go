package privacy

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
)

func TestAnonymizeIP(t *testing.T) {
	for _, tc := range []struct {
		name, ip string
		octets   int
		bits     int
		want     string
	}{
		{"v4 one octet", "203.0.113.77", 1, 80, "203.0.113.0"},
		{"v4 two octets", "203.0.113.77", 2, 80, "203.0.0.0"},
		{"v4 all octets", "203.0.113.77", 4, 80, "0.0.0.0"},
		{"v4 mapped into v6 is v4", "::ffff:203.0.113.77", 1, 80, "203.0.113.0"},
		{"v6 80 bits keeps a /48", "2001:db8:85a3:8d3:1319:8a2e:370:7348", 1, 80, "2001:db8:85a3::"},
		{"v6 64 bits keeps a /64", "2001:db8:85a3:8d3:1319:8a2e:370:7348", 1, 64, "2001:db8:85a3:8d3::"},
		{"v6 zone dropped", "fe80::1%eth0", 1, 64, "fe80::"},
		{"v6 all bits", "2001:db8::1", 1, 128, "::"},
		{"not an address is dropped", "unix-socket", 1, 80, ""},
		{"empty", "", 1, 80, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AnonymizeIP(tc.ip, tc.octets, tc.bits)
			if got != tc.want {
				t.Fatalf("AnonymizeIP(%q, %d, %d) = %q, want %q", tc.ip, tc.octets, tc.bits, got, tc.want)
			}
			// Applying it again (a replay) gives the same address.
			if again := AnonymizeIP(got, tc.octets, tc.bits); got != "" && again != got {
				t.Errorf("anonymised twice: %q, want %q", again, got)
			}
		})
	}
}

func policyPipeline(t *testing.T, opts PolicyOptions) *pipeline.Pipeline {
	t.Helper()
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := contract.NewSet([]*contract.Contract{testContract(t, "plain", `{"a": {"type": "string"}}`)})
	return pipeline.New(reg, event.Collector{Name: "test"}, "default", NewStage(reg, nil, DefaultOptions(), nil), NewPolicy(opts))
}

const plainKey = "iglu:com.acme/plain/jsonschema/1-0-0"

var identified = event.Identity{UserID: "user-1", AnonymousID: "anon-1", NetworkUserID: "nuid-1"}

func policyRecord(p *pipeline.Pipeline, protocol string, header http.Header, in event.Input) *event.Envelope {
	return p.Process(pipeline.Request{
		Protocol: protocol, CollectedAt: time.Now(), Header: header,
		Source: event.Source{IP: "203.0.113.77", UserAgent: "Mozilla/5.0 test", Referer: "https://shop.example/"},
	}, []event.Input{in})[0]
}

// The defaults change nothing of a record but what SP-Anonymous asks for.
func TestPolicyDefaultsKeepTodaysRecord(t *testing.T) {
	p := policyPipeline(t, DefaultPolicyOptions())
	env := policyRecord(p, "selfdesc", http.Header{}, event.Input{SchemaKey: plainKey, Data: json.RawMessage(`{"a":"x"}`), Identity: identified})
	if env.Source.IP != "203.0.113.77" || env.Source.UserAgent != "Mozilla/5.0 test" || env.Identity != identified {
		t.Fatalf("defaults changed the record: %+v %+v", env.Source, env.Identity)
	}
}

func TestPolicyIPAndUserAgent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ip     IPOptions
		ua     string
		wantIP string
		wantUA string
	}{
		{"anonymize", IPOptions{Action: ActionAnonymize, IPv4Octets: 1, IPv6Bits: 80}, ActionKeep, "203.0.113.0", "Mozilla/5.0 test"},
		{"drop both", IPOptions{Action: ActionDrop}, ActionDrop, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultPolicyOptions()
			opts.IP, opts.UserAgent = tc.ip, tc.ua
			p := policyPipeline(t, opts)
			env := policyRecord(p, "selfdesc", nil, event.Input{SchemaKey: plainKey, Data: json.RawMessage(`{"a":"x"}`)})
			if env.Source.IP != tc.wantIP || env.Source.UserAgent != tc.wantUA {
				t.Fatalf("source %+v, want ip %q user agent %q", env.Source, tc.wantIP, tc.wantUA)
			}
			// The same stage on the record again (a replay) changes nothing.
			again := p.Process(pipeline.Request{Protocol: "selfdesc", Source: env.Source}, []event.Input{{SchemaKey: plainKey, Data: env.Payload}})[0]
			if again.Source != env.Source {
				t.Errorf("applied twice: %+v, want %+v", again.Source, env.Source)
			}
		})
	}
}

// SP-Anonymous strips the IP and the network user id on every protocol;
// the user's own ids stay (as Snowplow does).
func TestPolicySPAnonymousOnEveryProtocol(t *testing.T) {
	p := policyPipeline(t, DefaultPolicyOptions())
	for _, proto := range []string{"selfdesc", "cloudevents", "segment", "snowplow", "webhook", "pixel"} {
		t.Run(proto, func(t *testing.T) {
			env := policyRecord(p, proto, http.Header{"Sp-Anonymous": {"*"}}, event.Input{SchemaKey: plainKey, Data: json.RawMessage(`{"a":"x"}`), Identity: identified})
			if env.Source.IP != "" || env.Identity.NetworkUserID != "" {
				t.Errorf("kept %q and %q", env.Source.IP, env.Identity.NetworkUserID)
			}
			if env.Identity.UserID != "user-1" || env.Identity.AnonymousID != "anon-1" {
				t.Errorf("identity %+v: SP-Anonymous keeps the user's ids", env.Identity)
			}
		})
	}
	off := DefaultPolicyOptions()
	off.SPAnonymous = false
	env := policyRecord(policyPipeline(t, off), "selfdesc", http.Header{"Sp-Anonymous": {"*"}}, event.Input{SchemaKey: plainKey, Data: json.RawMessage(`{"a":"x"}`), Identity: identified})
	if env.Source.IP == "" {
		t.Error("sp_anonymous: false still honoured the header")
	}
}

func TestPolicyConsentStripsIdentifiers(t *testing.T) {
	opts := DefaultPolicyOptions()
	opts.Consent = []Signal{
		{Kind: SignalGPC},
		{Kind: SignalHeader, Name: "x-consent", Value: "denied"},
		{Kind: SignalSegment, Name: "/context/consent/analytics", Value: "false"},
		{Kind: SignalTP2, Name: "co_consent", Value: "0"},
	}
	p := policyPipeline(t, opts)
	for _, tc := range []struct {
		name     string
		protocol string
		header   http.Header
		raw      string
		withheld bool
	}{
		{"Sec-GPC: 1", "selfdesc", http.Header{"Sec-Gpc": {"1"}}, "", true},
		{"Sec-GPC: 0", "selfdesc", http.Header{"Sec-Gpc": {"0"}}, "", false},
		{"named header with the value", "cloudevents", http.Header{"X-Consent": {"denied"}}, "", true},
		{"named header with another value", "cloudevents", http.Header{"X-Consent": {"granted"}}, "", false},
		{"segment field false", "segment", nil, `{"type":"track","context":{"consent":{"analytics":false}}}`, true},
		{"segment field true", "segment", nil, `{"type":"track","context":{"consent":{"analytics":true}}}`, false},
		{"segment field on another protocol", "selfdesc", nil, `{"context":{"consent":{"analytics":false}}}`, false},
		{"tp2 field in a POST event", "snowplow", nil, `{"e":"pv","co_consent":"0"}`, true},
		{"tp2 field in a GET query", "snowplow", nil, `e=pv&co_consent=0&uid=user-1`, true},
		{"tp2 field another value", "snowplow", nil, `e=pv&co_consent=1`, false},
		{"no signal", "pixel", nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := policyRecord(p, tc.protocol, tc.header, event.Input{SchemaKey: plainKey, Data: json.RawMessage(`{"a":"x"}`), Identity: identified, Raw: []byte(tc.raw)})
			stripped := env.Identity == event.Identity{} && env.Source.IP == ""
			if stripped != tc.withheld {
				t.Fatalf("identity %+v ip %q; want stripped %v", env.Identity, env.Source.IP, tc.withheld)
			}
			if tc.withheld && env.Source.UserAgent == "" {
				t.Error("consent strips identifiers, not the user agent")
			}
		})
	}
}

func TestPolicyHeaderAllowList(t *testing.T) {
	opts := DefaultPolicyOptions()
	opts.Headers = []string{"user-agent"}
	p := policyPipeline(t, opts)
	env := policyRecord(p, "webhook", nil, event.Input{Arbitrary: true, Data: json.RawMessage(`{}`),
		Attributes: json.RawMessage(`{"source":"gh","headers":{"User-Agent":"GitHub-Hookshot/1","X-Forwarded-For":"198.51.100.9"}}`)})
	if want := `{"source":"gh","headers":{"User-Agent":"GitHub-Hookshot/1"}}`; string(env.Attributes) != want {
		t.Fatalf("attributes %s, want %s", env.Attributes, want)
	}
}

// A failed record's raw input that is not JSON, or holds a value the
// policy removed, follows failed_raw; JSON raw holding nothing removed is
// kept as the contract stage left it, and so is a Snowplow query string
// whose payload fields are JSON (the rules find the values there).
func TestPolicyFailedRaw(t *testing.T) {
	notJSON := "e=pv&uid=user-1&email=a%40b.c"
	spQuery := "e=ue&ue_pr=" + url.QueryEscape(`{"schema":"s","data":{"schema":"t","data":{}}}`) + "&cx=e30"
	spBroken := "e=ue&ue_pr=%7B%22data%22%3A%7B%22email%22%3A%22a%40b.c%22"
	for _, tc := range []struct {
		name     string
		protocol string
		policy   string
		header   http.Header
		raw      string
		want     string
	}{
		{"not JSON, drop (the default)", "pixel", ActionDrop, nil, notJSON, ""},
		{"not JSON, truncate", "pixel", ActionTruncate, nil, notJSON, notJSON[:8]},
		{"not JSON, keep", "pixel", ActionKeep, nil, notJSON, notJSON},
		{"base64, truncate", "snowplow", ActionTruncate, nil, "\xff\xfe binary input", base64.StdEncoding.EncodeToString([]byte("\xff\xfe binary input"))[:8]},
		{"JSON holding nothing removed is kept", "snowplow", ActionDrop, nil, `{"a":1}`, `{"a":1}`},
		{"JSON holding a stripped id follows the policy", "snowplow", ActionDrop, http.Header{"Sec-Gpc": {"1"}}, `{"userId":"user-1"}`, ""},
		{"a Snowplow query with JSON payloads is kept", "snowplow", ActionDrop, nil, spQuery, spQuery},
		{"a Snowplow query holding a stripped id follows the policy", "snowplow", ActionDrop, http.Header{"Sec-Gpc": {"1"}}, spQuery + "&uid=user-1", ""},
		{"a Snowplow query whose payload is not JSON follows the policy", "snowplow", ActionDrop, nil, spBroken, ""},
		{"a Snowplow POST event whose ue_pr is not JSON follows the policy", "snowplow", ActionDrop, nil, `{"e":"ue","ue_pr":"{\"data\": {\"email\": \"a@b.c\"","uid":"u"}`, ""},
		{"a Snowplow POST event with JSON payloads is kept", "snowplow", ActionDrop, nil, `{"e":"ue","ue_pr":"{\"data\":{}}"}`, `{"e":"ue","ue_pr":"{\"data\":{}}"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultPolicyOptions()
			opts.FailedRaw, opts.FailedRawBytes = tc.policy, 8
			opts.Consent = []Signal{{Kind: SignalGPC}}
			p := policyPipeline(t, opts)
			env := policyRecord(p, tc.protocol, tc.header, event.Input{Raw: []byte(tc.raw), Identity: identified,
				Failure: event.NewFailure(event.ProtocolViolation, "test")})
			if env.Raw != tc.want {
				t.Fatalf("raw %q, want %q", env.Raw, tc.want)
			}
		})
	}
	// A request that could not be read at all goes through the policy too.
	p := policyPipeline(t, DefaultPolicyOptions())
	rec := p.Reject(pipeline.Request{Protocol: "selfdesc", Source: event.Source{IP: "203.0.113.77"}}, event.NewFailure(event.PayloadFormatViolation, "not JSON"), []byte("email=a@b.c"))
	if rec.Raw != "" {
		t.Errorf("a rejected body that is not JSON kept %q", rec.Raw)
	}
}

func TestPolicyOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*PolicyOptions)
		key    string
	}{
		{"ip action", func(o *PolicyOptions) { o.IP.Action = "hash" }, "privacy.ip.action"},
		{"ipv4 octets", func(o *PolicyOptions) { o.IP.Action, o.IP.IPv4Octets = ActionAnonymize, 5 }, "privacy.ip.ipv4_octets"},
		{"ipv6 bits", func(o *PolicyOptions) { o.IP.Action, o.IP.IPv6Bits = ActionAnonymize, 0 }, "privacy.ip.ipv6_bits"},
		{"user agent", func(o *PolicyOptions) { o.UserAgent = "mask" }, "privacy.user_agent"},
		{"header name", func(o *PolicyOptions) { o.Headers = []string{"a b"} }, "privacy.headers[0]"},
		{"signal kind", func(o *PolicyOptions) { o.Consent = []Signal{{Kind: "cookie"}} }, "privacy.consent[0].kind"},
		{"segment pointer", func(o *PolicyOptions) { o.Consent = []Signal{{Kind: SignalSegment, Name: "context.x", Value: "false"}} }, "privacy.consent[0].name"},
		{"tp2 value", func(o *PolicyOptions) { o.Consent = []Signal{{Kind: SignalTP2, Name: "co"}} }, "privacy.consent[0].value"},
		{"failed raw", func(o *PolicyOptions) { o.FailedRaw = "hash" }, "privacy.failed_raw"},
		{"failed raw bytes", func(o *PolicyOptions) { o.FailedRaw, o.FailedRawBytes = ActionTruncate, 0 }, "privacy.failed_raw_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultPolicyOptions()
			tc.modify(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("Validate() = %v; want an error naming %s", err, tc.key)
			}
		})
	}
	if err := DefaultPolicyOptions().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

// The consent field readers take any bytes a client sends.
func FuzzFieldAt(f *testing.F) {
	f.Add([]byte(`{"context":{"consent":{"analytics":false}}}`), "/context/consent/analytics")
	f.Add([]byte(`{"a":[1,{"b":"x"}]}`), "/a/1/b")
	f.Add([]byte(`e=pv&co=0`), "co")
	f.Add([]byte(`{"a":`), "/a")
	f.Fuzz(func(t *testing.T, doc []byte, ptr string) {
		fieldAt(doc, ptr)
		tp2Field(doc, ptr)
	})
}

// A Segment message's context repeats the IP address and user agent in
// attributes: they follow the same policy, every copy of a repeated
// member included, and a failed record's raw holding them is withheld.
func TestPolicySegmentContext(t *testing.T) {
	attrs := `{"source":"web","context":{"ip":"198.51.100.23","userAgent":"Mozilla/5.0 seg","ip":"198.51.100.24","library":{"name":"analytics.js"}}}`
	for _, tc := range []struct {
		name   string
		opts   func(*PolicyOptions)
		header http.Header
		want   string
	}{
		{"defaults keep it", func(*PolicyOptions) {}, nil, attrs},
		{"anonymize and drop the user agent", func(o *PolicyOptions) {
			o.IP = IPOptions{Action: ActionAnonymize, IPv4Octets: 1, IPv6Bits: 80}
			o.UserAgent = ActionDrop
		}, nil, `{"source":"web","context":{"ip":"198.51.100.0","userAgent":"","ip":"198.51.100.0","library":{"name":"analytics.js"}}}`},
		{"SP-Anonymous strips it", func(*PolicyOptions) {}, http.Header{"Sp-Anonymous": {"*"}}, `{"source":"web","context":{"ip":"","userAgent":"Mozilla/5.0 seg","ip":"","library":{"name":"analytics.js"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultPolicyOptions()
			tc.opts(&o)
			p := policyPipeline(t, o)
			env := policyRecord(p, "segment", tc.header, event.Input{SchemaKey: plainKey, Data: json.RawMessage(`{"a":"x"}`), Attributes: json.RawMessage(attrs)})
			if string(env.Attributes) != tc.want {
				t.Fatalf("attributes\n%s\nwant\n%s", env.Attributes, tc.want)
			}
		})
	}
	o := DefaultPolicyOptions()
	o.IP.Action = ActionDrop
	raw := `{"type":"track","context":{"ip":"198.51.100.23"}}`
	env := policyRecord(policyPipeline(t, o), "segment", nil, event.Input{Raw: []byte(raw), Attributes: json.RawMessage(attrs),
		Failure: event.NewFailure(event.SchemaViolation, "test")})
	if env.Raw != "" || env.RawEncoding != event.RawWithheld {
		t.Errorf("failed raw %q (%s), want it withheld: it holds the IP address the policy dropped", env.Raw, env.RawEncoding)
	}
}

func FuzzEditAt(f *testing.F) {
	f.Add([]byte(`{"context":{"ip":"1.2.3.4"}}`))
	f.Add([]byte(`{"context":{"ip":1,"ip":"x"},"a":[]}`))
	f.Add([]byte(`{"context":`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		out := editAt(doc, []string{"context", "ip"}, func([]byte) []byte { return []byte(`""`) })
		if json.Valid(doc) && !json.Valid(out) {
			t.Fatalf("valid %s became %s", doc, out)
		}
	})
}
