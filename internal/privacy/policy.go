package privacy

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol/snowplow/tp2raw"
)

// PolicyOptions is the collector-wide part of the privacy: section: what
// is done to every record, whatever its contract says, to the fields of
// the envelope that are not event data (the client's IP address, its user
// agent, stored headers, the identifiers), and to a failed record's raw
// input that no contract rule could rewrite.
type PolicyOptions struct {
	IP          IPOptions `yaml:"ip" doc:"What is stored of the client's IP address (source.ip)."`
	UserAgent   string    `yaml:"user_agent" doc:"What is stored of the client's user agent (source.user_agent): keep or drop."`
	Headers     []string  `yaml:"headers" doc:"The request headers a record may keep (a webhook keeps a few in attributes.headers): an allow-list of names, case-insensitive. Empty: every header a protocol keeps. A header not listed is removed from the record."`
	SPAnonymous bool      `yaml:"sp_anonymous" doc:"Honour Snowplow's SP-Anonymous header on every protocol: a request carrying it is stored without IP address and network user id (and Snowplow sets no cookie)."`
	Consent     []Signal  `yaml:"consent" doc:"Signals that an event's subject withholds consent: an event carrying any of them is stored without user id, anonymous id, network user id and IP address. Empty: none is honoured."`
	FailedRaw   string    `yaml:"failed_raw" doc:"What a failed record keeps of a raw input no contract rule could rewrite (not JSON, a pixel query string, base64), or one holding a value this policy removed: drop (keep nothing), truncate (its first failed_raw_bytes bytes) or keep (as sent)."`
	// FailedRawBytes bounds what truncate keeps.
	FailedRawBytes int `yaml:"failed_raw_bytes" doc:"How many bytes of a failed record's raw input failed_raw: truncate keeps."`
}

// IPOptions says what is stored of the client's IP address.
type IPOptions struct {
	Action     string `yaml:"action" doc:"keep (as seen), anonymize (the last ipv4_octets octets of an IPv4 address, the last ipv6_bits bits of an IPv6 address set to zero) or drop (stored empty)."`
	IPv4Octets int    `yaml:"ipv4_octets" doc:"For anonymize: how many trailing octets of an IPv4 address are zeroed (1 to 4)."`
	IPv6Bits   int    `yaml:"ipv6_bits" doc:"For anonymize: how many trailing bits of an IPv6 address are zeroed (1 to 128)."`
}

// Signal is one way a client says its event's subject withholds consent.
type Signal struct {
	Kind  string `yaml:"kind" doc:"gpc (the Sec-GPC: 1 header), header (a named request header), segment (a field of a Segment message, by JSON Pointer) or tp2 (a field of a Snowplow event)."`
	Name  string `yaml:"name" doc:"For header: the header's name; for segment: a JSON Pointer into the message, such as /context/consent/analytics; for tp2: the field's name."`
	Value string `yaml:"value" doc:"The value that withholds consent (a string's text, or a JSON literal such as false). Empty: any non-empty value of a header; required for segment and tp2."`
}

// Policy actions.
const (
	ActionKeep      = "keep"
	ActionAnonymize = "anonymize"
	ActionDrop      = "drop"
	ActionTruncate  = "truncate"
)

// Consent signal kinds.
const (
	SignalGPC     = "gpc"
	SignalHeader  = "header"
	SignalSegment = "segment"
	SignalTP2     = "tp2"
)

// DefaultPolicyOptions changes nothing of today's records but two things,
// both safe: a request's SP-Anonymous header is honoured on every protocol
// (the client asked for it), and a failed record's raw input that no rule
// could rewrite is dropped (it may hold anything in clear).
func DefaultPolicyOptions() PolicyOptions {
	return PolicyOptions{
		IP:             IPOptions{Action: ActionKeep, IPv4Octets: 1, IPv6Bits: 80},
		UserAgent:      ActionKeep,
		SPAnonymous:    true,
		FailedRaw:      ActionDrop,
		FailedRawBytes: 256,
	}
}

// Validate checks the policy, naming the key and the fix.
func (o PolicyOptions) Validate() error {
	switch o.IP.Action {
	case "", ActionKeep, ActionDrop:
	case ActionAnonymize:
		if o.IP.IPv4Octets < 1 || o.IP.IPv4Octets > 4 {
			return fmt.Errorf("privacy.ip.ipv4_octets is %d; use 1 to 4 (1 keeps a /24)", o.IP.IPv4Octets)
		}
		if o.IP.IPv6Bits < 1 || o.IP.IPv6Bits > 128 {
			return fmt.Errorf("privacy.ip.ipv6_bits is %d; use 1 to 128 (80 keeps a /48)", o.IP.IPv6Bits)
		}
	default:
		return fmt.Errorf("privacy.ip.action %q is not an action; use keep, anonymize or drop", o.IP.Action)
	}
	switch o.UserAgent {
	case "", ActionKeep, ActionDrop:
	default:
		return fmt.Errorf("privacy.user_agent %q is not an action; use keep or drop", o.UserAgent)
	}
	for i, h := range o.Headers {
		if h == "" || strings.ContainsAny(h, " :\t\r\n") {
			return fmt.Errorf("privacy.headers[%d] %q is not a header name; use its name, such as User-Agent", i, h)
		}
	}
	for i, s := range o.Consent {
		switch s.Kind {
		case SignalGPC:
		case SignalHeader:
			if s.Name == "" || strings.ContainsAny(s.Name, " :\t\r\n") {
				return fmt.Errorf("privacy.consent[%d].name %q is not a header name; name the header, such as X-Consent", i, s.Name)
			}
		case SignalSegment:
			if _, err := jsonpointer.Parse(s.Name); err != nil || s.Name == "" {
				return fmt.Errorf("privacy.consent[%d].name %q is not a JSON Pointer into a Segment message; use one such as /context/consent/analytics", i, s.Name)
			}
		case SignalTP2:
			if s.Name == "" {
				return fmt.Errorf("privacy.consent[%d].name is empty; name the tp2 field, such as co_consent", i)
			}
		default:
			return fmt.Errorf("privacy.consent[%d].kind %q is not a signal; use gpc, header, segment or tp2", i, s.Kind)
		}
		if (s.Kind == SignalSegment || s.Kind == SignalTP2) && s.Value == "" {
			return fmt.Errorf("privacy.consent[%d].value is empty; set the value that withholds consent, such as false", i)
		}
	}
	switch o.FailedRaw {
	case "", ActionDrop, ActionKeep:
	case ActionTruncate:
		if o.FailedRawBytes < 1 {
			return fmt.Errorf("privacy.failed_raw_bytes is %d; truncate needs at least 1", o.FailedRawBytes)
		}
	default:
		return fmt.Errorf("privacy.failed_raw %q is not a policy; use drop, truncate or keep", o.FailedRaw)
	}
	return nil
}

// Policy is the pipeline stage applying the collector-wide policy. It runs
// after the contracts' rules (Stage) and before enrichment, on every
// record, good or failed. Each of its actions gives the same result when
// applied again (an anonymised address anonymised again is itself, a
// stripped field stays empty), so a replayed record is not changed twice.
// It is safe for concurrent use.
type Policy struct {
	opts    PolicyOptions
	headers map[string]bool // the allow-list, canonical names; nil keeps all
	// consentHeaders are the canonical names of header signals.
	consentHeaders []string
}

var _ pipeline.Stage = (*Policy)(nil)

// NewPolicy returns the stage; opts must have passed Validate.
func NewPolicy(opts PolicyOptions) *Policy {
	p := &Policy{opts: opts}
	if len(opts.Headers) > 0 {
		p.headers = make(map[string]bool, len(opts.Headers))
		for _, h := range opts.Headers {
			p.headers[textproto.CanonicalMIMEHeaderKey(h)] = true
		}
	}
	for _, s := range opts.Consent {
		name := ""
		if s.Kind == SignalHeader {
			name = textproto.CanonicalMIMEHeaderKey(s.Name)
		}
		p.consentHeaders = append(p.consentHeaders, name)
	}
	return p
}

// spAnonymous is the canonical form of Snowplow's SP-Anonymous, so that a
// lookup in the request's header costs nothing.
const spAnonymous = "Sp-Anonymous"

// Process implements pipeline.Stage.
func (p *Policy) Process(req pipeline.Request, events []pipeline.Event) {
	anonymous := p.opts.SPAnonymous && len(req.Header[spAnonymous]) > 0
	requestConsent := p.requestWithholds(req.Header)
	for i := range events {
		p.event(&events[i], anonymous, requestConsent)
	}
}

func (p *Policy) event(ev *pipeline.Event, anonymous, withheld bool) {
	env := &ev.Envelope
	// removed are the values this event loses: a failed record's raw
	// input is checked for them.
	var removed [8]string
	n := 0
	remove := func(field *string, to string) {
		if *field != to {
			if *field != "" {
				removed[n] = *field
				n++
			}
			*field = to
		}
	}
	if !withheld && len(p.opts.Consent) > 0 {
		withheld = p.eventWithholds(ev)
	}
	switch {
	case withheld:
		remove(&env.Identity.UserID, "")
		remove(&env.Identity.AnonymousID, "")
		remove(&env.Identity.NetworkUserID, "")
		remove(&env.Source.IP, "")
	case anonymous:
		remove(&env.Identity.NetworkUserID, "")
		remove(&env.Source.IP, "")
	}
	if env.Source.IP != "" {
		switch p.opts.IP.Action {
		case ActionDrop:
			remove(&env.Source.IP, "")
		case ActionAnonymize:
			remove(&env.Source.IP, AnonymizeIP(env.Source.IP, p.opts.IP.IPv4Octets, p.opts.IP.IPv6Bits))
		}
	}
	if p.opts.UserAgent == ActionDrop {
		remove(&env.Source.UserAgent, "")
	}
	if env.Protocol == "segment" && len(env.Attributes) > 0 {
		// A Segment message's context, kept in attributes as sent, says
		// the IP address and user agent again.
		env.Attributes = p.segmentContext(env.Attributes, withheld || anonymous, func(v string) {
			if n < len(removed) {
				removed[n] = v
				n++
			}
		})
	}
	if p.headers != nil && len(env.Attributes) > 0 {
		env.Attributes = p.allowedHeaders(env.Attributes)
	}
	if env.Failure != nil && env.Raw != "" {
		p.failedRaw(env, removed[:n])
	}
}

// failedRaw keeps a failed record's raw input under the failed_raw
// policy when it cannot be read as JSON, nor as a Snowplow event whose
// payload fields are JSON (the contract rules rewrite JSON only, so
// anything else may hold governed values in clear), or when it
// holds a value this policy removed from the record.
func (p *Policy) failedRaw(env *event.Envelope, removed []string) {
	readable := env.RawEncoding != event.RawBase64 && jsonObjectOrArray(env.Raw)
	if env.Protocol == "snowplow" && env.RawEncoding != event.RawBase64 {
		// A Snowplow event (a GET's query string or a POST's tp2 object)
		// carries its data and contexts as JSON in ue_pr/ue_px and co/cx,
		// where the rules find them (the privacy stage rewrote them, if any
		// is governed); one whose payload field is not JSON (a broken ue_pr
		// in a POST) went past every rule, and follows the policy.
		readable = tp2raw.Readable([]byte(env.Raw))
	}
	holds := false
	for _, v := range removed {
		if strings.Contains(env.Raw, v) || strings.Contains(env.Raw, url.QueryEscape(v)) {
			holds = true
			break
		}
	}
	if readable && !holds {
		return
	}
	switch p.opts.FailedRaw {
	case ActionKeep:
	case ActionTruncate:
		raw := []byte(env.Raw)
		if env.RawEncoding == event.RawBase64 {
			// Keep base64 of the first bytes: decoding costs nothing here.
			if n := p.opts.FailedRawBytes; len(env.Raw) > n {
				env.Raw = env.Raw[:n/4*4]
			}
			return
		}
		if n := p.opts.FailedRawBytes; len(raw) > n {
			raw = raw[:n]
		}
		env.SetRaw(raw)
	default:
		env.WithholdRaw()
	}
}

// jsonObjectOrArray reports whether s is one JSON object or array.
func jsonObjectOrArray(s string) bool {
	b := []byte(s)
	start := jsonscan.SkipSpace(b, 0)
	if start >= len(b) || b[start] != '{' && b[start] != '[' {
		return false
	}
	end, err := jsonscan.Skip(b, start)
	return err == nil && jsonscan.SkipSpace(b, end) == len(b)
}

// requestWithholds reports whether the request carries a header signal
// (gpc, header) of withheld consent.
func (p *Policy) requestWithholds(h http.Header) bool {
	for i, s := range p.opts.Consent {
		switch s.Kind {
		case SignalGPC:
			if v := h["Sec-Gpc"]; len(v) > 0 && strings.TrimSpace(v[0]) == "1" {
				return true
			}
		case SignalHeader:
			v := h[p.consentHeaders[i]]
			if len(v) == 0 {
				continue
			}
			if s.Value == "" && strings.TrimSpace(v[0]) != "" || s.Value != "" && strings.TrimSpace(v[0]) == s.Value {
				return true
			}
		}
	}
	return false
}

// eventWithholds reports whether the event's own input carries a field
// signal (segment, tp2) of withheld consent.
func (p *Policy) eventWithholds(ev *pipeline.Event) bool {
	for _, s := range p.opts.Consent {
		var v string
		var ok bool
		switch {
		case s.Kind == SignalSegment && ev.Envelope.Protocol == "segment":
			v, ok = fieldAt(ev.Input.Raw, s.Name)
		case s.Kind == SignalTP2 && ev.Envelope.Protocol == "snowplow":
			v, ok = tp2Field(ev.Input.Raw, s.Name)
		}
		if ok && v == s.Value {
			return true
		}
	}
	return false
}

// tp2Field returns the tp2 field name of a Snowplow event as sent: a JSON
// object (POST) or a query string (GET).
func tp2Field(raw []byte, name string) (string, bool) {
	if start := jsonscan.SkipSpace(raw, 0); start < len(raw) && raw[start] == '{' {
		return fieldAt(raw, "/"+jsonpointer.Escape(name))
	}
	q, err := url.ParseQuery(string(raw))
	if err != nil || !q.Has(name) {
		return "", false
	}
	return q.Get(name), true
}

// fieldAt returns the value at the JSON Pointer ptr of the JSON document
// doc: a string's text, or any other value's JSON. It reads the document
// in place, member by member along the pointer.
func fieldAt(doc []byte, ptr string) (string, bool) {
	tokens, err := jsonpointer.Parse(ptr)
	if err != nil {
		return "", false
	}
	i := jsonscan.SkipSpace(doc, 0)
	for _, tok := range tokens {
		if i >= len(doc) {
			return "", false
		}
		found := -1
		switch doc[i] {
		case '{':
			_, err = jsonscan.Object(doc, i, func(ks, ke, vs int) (int, error) {
				if found < 0 && jsonscan.UnquoteBytes(doc[ks:ke]) == tok {
					found = vs
				}
				return jsonscan.Skip(doc, vs)
			})
		case '[':
			_, err = jsonscan.Array(doc, i, func(n, es int) (int, error) {
				if found < 0 && fmt.Sprint(n) == tok {
					found = es
				}
				return jsonscan.Skip(doc, es)
			})
		default:
			return "", false
		}
		if err != nil || found < 0 {
			return "", false
		}
		i = found
	}
	end, err := jsonscan.Skip(doc, i)
	if err != nil {
		return "", false
	}
	v := doc[i:end]
	if v[0] == '"' {
		return jsonscan.UnquoteBytes(v), true
	}
	return string(v), true
}

// allowedHeaders returns attrs with the members of its "headers" object
// that are not on the allow-list removed. attrs is returned as it is when
// it has no headers member or all of them are allowed.
func (p *Policy) allowedHeaders(attrs []byte) []byte {
	start := jsonscan.SkipSpace(attrs, 0)
	if start >= len(attrs) || attrs[start] != '{' || !bytes.Contains(attrs, []byte(`"headers"`)) {
		return attrs
	}
	out := make([]byte, 0, len(attrs))
	out = append(out, '{')
	first := true
	changed := false
	_, err := jsonscan.Object(attrs, start, func(ks, ke, vs int) (int, error) {
		end, err := jsonscan.Skip(attrs, vs)
		if err != nil {
			return end, err
		}
		out = member(out, &first, attrs[ks:ke])
		if jsonscan.UnquoteBytes(attrs[ks:ke]) != "headers" || attrs[vs] != '{' {
			out = append(out, attrs[vs:end]...)
			return end, nil
		}
		out = append(out, '{')
		hfirst := true
		_, err = jsonscan.Object(attrs, vs, func(hks, hke, hvs int) (int, error) {
			hend, err := jsonscan.Skip(attrs, hvs)
			if err != nil {
				return hend, err
			}
			if !p.headers[textproto.CanonicalMIMEHeaderKey(jsonscan.UnquoteBytes(attrs[hks:hke]))] {
				changed = true
				return hend, nil
			}
			out = member(out, &hfirst, attrs[hks:hke])
			out = append(out, attrs[hvs:hend]...)
			return hend, nil
		})
		out = append(out, '}')
		return end, err
	})
	if err != nil {
		// Attributes the pipeline built are JSON; should they not be,
		// keep no header rather than one the list does not allow.
		return []byte("{}")
	}
	if !changed {
		return attrs
	}
	return append(out, '}')
}

// AnonymizeIP returns ip with its last v4Octets octets (IPv4) or v6Bits
// bits (IPv6) set to zero, or "" when ip is not an IP address (nothing
// unreadable is kept). An IPv4 address written as IPv6 (::ffff:a.b.c.d)
// is anonymised as IPv4. Anonymising an anonymised address gives it back.
func AnonymizeIP(ip string, v4Octets, v6Bits int) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	addr = addr.Unmap().WithZone("")
	keep := 128 - v6Bits
	if addr.Is4() {
		keep = 32 - 8*v4Octets
	}
	prefix, err := addr.Prefix(max(keep, 0))
	if err != nil {
		return ""
	}
	return prefix.Addr().String()
}

// segmentContext applies the IP and user agent policy to attrs.context.ip
// and attrs.context.userAgent, where a Segment message carries them: an IP
// address anonymised, or made empty when dropped or stripped; a user agent
// made empty when dropped. gone hears each value removed.
func (p *Policy) segmentContext(attrs []byte, stripIP bool, gone func(string)) []byte {
	ipAction := p.opts.IP.Action
	if stripIP {
		ipAction = ActionDrop
	}
	if ipAction == ActionAnonymize || ipAction == ActionDrop {
		attrs = editAt(attrs, []string{"context", "ip"}, func(v []byte) []byte {
			text := ""
			if v[0] == '"' {
				text = jsonscan.UnquoteBytes(v)
			}
			to := ""
			if ipAction == ActionAnonymize {
				to = AnonymizeIP(text, p.opts.IP.IPv4Octets, p.opts.IP.IPv6Bits)
			}
			if text != to && text != "" {
				gone(text)
			}
			return jsonscan.AppendString(nil, to)
		})
	}
	if p.opts.UserAgent == ActionDrop {
		attrs = editAt(attrs, []string{"context", "userAgent"}, func(v []byte) []byte {
			if v[0] == '"' && len(v) > 2 {
				gone(jsonscan.UnquoteBytes(v))
			}
			return []byte(`""`)
		})
	}
	return attrs
}

// editAt returns doc with every value at path (member names, each member
// of that name when one repeats) replaced by what edit makes of it. doc
// is returned as it is when the path is not in it, or it is not JSON.
func editAt(doc []byte, path []string, edit func(v []byte) []byte) []byte {
	start := jsonscan.SkipSpace(doc, 0)
	if start >= len(doc) || doc[start] != '{' || !bytes.Contains(doc, []byte(path[len(path)-1])) {
		return doc
	}
	out := make([]byte, 0, len(doc)+16)
	out = append(out, doc[:start]...)
	out = append(out, '{')
	first := true
	found := false
	end, err := jsonscan.Object(doc, start, func(ks, ke, vs int) (int, error) {
		ve, err := jsonscan.Skip(doc, vs)
		if err != nil {
			return ve, err
		}
		out = member(out, &first, doc[ks:ke])
		v := doc[vs:ve]
		if jsonscan.UnquoteBytes(doc[ks:ke]) == path[0] {
			found = true
			if len(path) == 1 {
				v = edit(v)
			} else {
				v = editAt(v, path[1:], edit)
			}
		}
		out = append(out, v...)
		return ve, nil
	})
	if err != nil || !found {
		return doc
	}
	out = append(out, '}')
	return append(out, doc[end:]...)
}
