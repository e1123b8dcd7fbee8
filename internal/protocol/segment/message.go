package segment

import (
	"time"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// Fields of a message that Decode reads, as bits, to spot duplicates and
// missing ones. Segment ignores the others (channel, version, options, ...),
// and so does Decode: they stay in Raw.
const (
	fType = 1 << iota
	fEvent
	fName
	fCategory
	fGroupID
	fPreviousID
	fMessageID
	fUserID
	fAnonymousID
	fProperties
	fTraits
	fContext
	fIntegrations
	fTimestamp
	fOriginalTimestamp
	fSentAt
	fWriteKey
)

// fieldNames are the names of the field bits, in bit order.
var fieldNames = [...]string{"type", "event", "name", "category", "groupId", "previousId", "messageId", "userId", "anonymousId",
	"properties", "traits", "context", "integrations", "timestamp", "originalTimestamp", "sentAt", "writeKey"}

// fieldBit returns the bit of a field name, without making a string of it.
func fieldBit(name []byte) uint32 {
	switch string(name) {
	case "type":
		return fType
	case "event":
		return fEvent
	case "name":
		return fName
	case "category":
		return fCategory
	case "groupId":
		return fGroupID
	case "previousId":
		return fPreviousID
	case "messageId":
		return fMessageID
	case "userId":
		return fUserID
	case "anonymousId":
		return fAnonymousID
	case "properties":
		return fProperties
	case "traits":
		return fTraits
	case "context":
		return fContext
	case "integrations":
		return fIntegrations
	case "timestamp":
		return fTimestamp
	case "originalTimestamp":
		return fOriginalTimestamp
	case "sentAt":
		return fSentAt
	case "writeKey":
		return fWriteKey
	}
	return 0
}

func bitName(bit uint32) string {
	for i, n := range fieldNames {
		if bit == 1<<i {
			return n
		}
	}
	return ""
}

// problems collects what is wrong with one event.
type problems = protocol.Problems

// message reads the message object that starts at b[start] into m and f and
// returns the index just past it. call is the endpoint's call, or "" for a
// message of a batch, whose type says its call. The error is a syntax error:
// b is not JSON there.
func (d *decoder) message(b []byte, start int, call string, m *Message, f *fields) (int, error) {
	in := &m.Input
	// seen: the field was sent; has: with a value of the right kind; bad:
	// with a value of the wrong kind, already reported.
	var seen, has, bad uint32
	var p problems
	var typ, evt, name, groupID, previousID string
	var properties, traits []byte
	var timestamp, original time.Time
	end, err := jsonscan.Object(b, start, func(ks, ke, vs int) (int, error) {
		lit := b[ks:ke]
		nameBytes := lit[1 : len(lit)-1]
		if jsonscan.HasEscape(lit) {
			nameBytes = []byte(jsonscan.UnquoteBytes(lit))
		}
		bit := fieldBit(nameBytes)
		ve, err := jsonscan.Value(b, vs)
		if err != nil || bit == 0 {
			return ve, err
		}
		field := bitName(bit)
		if seen&bit != 0 {
			p.Add(event.ProtocolViolation, "/"+field, "the field %s appears more than once; send it once", field)
		}
		seen |= bit
		v := b[vs:ve]
		if v[0] == 'n' {
			// null is absent, as Segment's libraries send it.
			return ve, nil
		}
		has |= bit
		switch bit {
		case fType, fEvent, fName, fCategory, fGroupID, fPreviousID, fMessageID:
			if v[0] != '"' {
				p.Add(event.ProtocolViolation, "/"+field, "%s is %s; it must be a string", field, jsonscan.Kind(v[0]))
				has &^= bit
				bad |= bit
				return ve, nil
			}
			s := jsonscan.Unquote(v, d.text[vs:ve])
			switch bit {
			case fType:
				typ, f.typ = s, v
			case fEvent:
				evt, f.event = s, v
			case fName:
				name, f.name = s, v
			case fCategory:
				f.category = v
			case fGroupID:
				groupID, f.groupID = s, v
			case fPreviousID:
				previousID, f.previousID = s, v
			case fMessageID:
				in.EventID = s
			}
		case fUserID, fAnonymousID:
			var s string
			switch {
			case v[0] == '"':
				s = jsonscan.Unquote(v, d.text[vs:ve])
			case v[0] == '-' || v[0] >= '0' && v[0] <= '9':
				// Segment accepts numeric ids; they are kept as sent.
				s = d.text[vs:ve]
			default:
				p.Add(event.ProtocolViolation, "/"+field, "%s is %s; it must be a string (or a number)", field, jsonscan.Kind(v[0]))
				has &^= bit
				bad |= bit
			}
			if bit == fUserID {
				in.Identity.UserID = s
			} else {
				in.Identity.AnonymousID = s
			}
		case fProperties:
			properties = v
		case fTraits:
			traits = v
		case fContext, fIntegrations:
			if v[0] != '{' {
				p.Add(event.ProtocolViolation, "/"+field, "%s is %s; it must be an object", field, jsonscan.Kind(v[0]))
				has &^= bit
				bad |= bit
			} else if bit == fContext {
				f.ctx = v
			} else {
				f.integrations = v
			}
		case fTimestamp, fOriginalTimestamp, fSentAt:
			t, msg := d.parseTime(v, d.text[vs:ve], field)
			if msg != "" {
				p.Add(event.PayloadFormatViolation, "/"+field, "%s", msg)
			}
			switch bit {
			case fTimestamp:
				timestamp = t
			case fOriginalTimestamp:
				original = t
			default:
				in.SentAt = t
				f.hasSentAt = true
			}
		}
		return ve, nil
	})
	if err != nil {
		return end, err
	}
	raw := b[start:end]
	if d.checkUTF8 && !utf8.Valid(raw) {
		*f = fields{}
		*m = Message{Input: event.Input{Raw: raw, Failure: event.NewFailure(event.PayloadFormatViolation,
			"the message holds bytes that are not valid UTF-8; encode all text as UTF-8")}}
		return end, nil
	}
	f.read = true
	if seen&fWriteKey != 0 {
		// The write key is a credential: a failed record keeps the message
		// without it.
		raw = withoutWriteKey(b, start, end)
	}
	in.Raw = raw

	m.Call = d.resolveCall(call, typ, has, bad, &p)
	switch m.Call {
	case CallTrack:
		m.Event = evt
		required(CallTrack, evt, fEvent, has, bad, &p, `the name of what happened, such as "Order Completed"`)
		in.Data = dataField(properties, "properties", &p)
	case CallPage, CallScreen:
		m.Event = name
		in.Data = dataField(properties, "properties", &p)
	case CallIdentify:
		in.Data = dataField(traits, "traits", &p)
	case CallGroup:
		required(CallGroup, groupID, fGroupID, has, bad, &p, "the id of the group (account, company, ...) the user belongs to")
		in.Data = dataField(traits, "traits", &p)
	case CallAlias:
		required(CallAlias, previousID, fPreviousID, has, bad, &p, "the id the user had before")
	}
	if in.Identity.UserID == "" && in.Identity.AnonymousID == "" && bad&(fUserID|fAnonymousID) == 0 {
		p.Add(event.ProtocolViolation, "", "the message has neither userId nor anonymousId; Segment requires one of them to say who it is about")
	}
	if has&fOriginalTimestamp != 0 {
		in.CreatedAt = original
	} else {
		in.CreatedAt = timestamp
	}
	in.Failure = p.Failure()
	return end, nil
}

// resolveCall returns the call of a message sent to the endpoint of call (""
// for a batch), reporting a missing, unknown or contradicting type.
func (d *decoder) resolveCall(call, typ string, has, bad uint32, p *problems) string {
	if has&fType == 0 {
		if call == "" && bad&fType == 0 {
			p.Add(event.ProtocolViolation, "", "the message has no type; a message in a batch says its call with \"type\": one of %s", callList)
		}
		return call
	}
	c := callOf(typ)
	switch {
	case c == "":
		p.Add(event.ProtocolViolation, "/type", "type %q is not a Segment call; use %s", typ, callList)
	case call != "" && c != call:
		p.Add(event.ProtocolViolation, "/type", "type is %q but the message was sent to /v1/%s; send it to /v1/%s, or leave type out", typ, call, c)
	}
	if call != "" {
		return call
	}
	return c
}

// required reports a field a call needs that is missing (absent, null or
// empty); one of the wrong kind was reported already. hint says what the
// field holds.
func required(call, value string, bit, has, bad uint32, p *problems, hint string) {
	name := bitName(bit)
	switch {
	case bad&bit != 0:
	case has&bit == 0:
		p.Add(event.ProtocolViolation, "", "the %s has no %s; add %q with %s", call, name, name, hint)
	case value == "":
		p.Add(event.ProtocolViolation, "/"+name, "%s is an empty string; set it to %s", name, hint)
	}
}

// dataField returns a message's data, the object v (properties or traits),
// or nil when it sent none: finish then gives it {}.
func dataField(v []byte, field string, p *problems) []byte {
	if v == nil {
		return nil
	}
	if v[0] != '{' {
		p.Add(event.ProtocolViolation, "/"+field, "%s is %s; it must be an object of the message's %s", field, jsonscan.Kind(v[0]), field)
		return nil
	}
	return v
}

// withoutWriteKey returns a copy of the object b[start:end] without its
// writeKey members.
func withoutWriteKey(b []byte, start, end int) []byte {
	out := make([]byte, 0, end-start)
	out = append(out, '{')
	// The object was read before: it is valid JSON.
	_, _ = jsonscan.Object(b, start, func(ks, ke, vs int) (int, error) {
		ve, err := jsonscan.Value(b, vs)
		if isName(b[ks:ke], "writeKey") {
			return ve, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, b[ks:ve]...)
		return ve, err
	})
	return append(out, '}')
}
