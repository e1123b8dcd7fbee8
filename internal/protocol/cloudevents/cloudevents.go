// Package cloudevents reads CloudEvents 1.0 over HTTP (POST /cloudevents) in
// all three content modes of the HTTP protocol binding:
//
//   - structured: one event as a JSON object (application/cloudevents+json);
//   - batch: a JSON array of such objects (application/cloudevents-batch+json);
//   - binary: the event's data is the body, its attributes ce-* headers and
//     its datacontenttype the Content-Type (any other media type).
//
// An event names its contract by dataschema. Problems with one event fail that
// event only; a body that cannot be read as events at all is a
// *protocol.Error.
//
// Decoding reads each byte once and keeps every event's data as the bytes it
// was sent in: the Inputs returned point into the request body, which must
// therefore not be reused while they are alive.
package cloudevents

import (
	"encoding/base64"
	"fmt"
	"math/bits"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// Name is the protocol's name on envelopes.
const Name = "cloudevents"

// Media types of the structured and batch content modes.
const (
	MediaStructured = "application/cloudevents+json"
	MediaBatch      = "application/cloudevents-batch+json"
)

// SpecVersion is the only CloudEvents version Accord reads.
const SpecVersion = "1.0"

// exampleKey shows the form of a contract key in messages.
const exampleKey = "iglu:com.acme/order_placed/jsonschema/1-0-0"

// noData is the data of an event that carries none: contracts see it as JSON
// null, as they would an explicit "data": null. Each event gets its own copy,
// so that no Input shares bytes with another.
func noData() []byte { return []byte("null") }

// Decode reads the events in req.
func Decode(req *protocol.Request) ([]event.Input, error) {
	switch req.MediaType {
	case MediaStructured, MediaBatch:
		if cs, ok := req.Params["charset"]; ok && !protocol.UTF8Charset(cs) {
			return nil, protocol.Errorf(http.StatusUnsupportedMediaType, event.PayloadFormatViolation,
				"charset %s is not supported; encode the body as UTF-8 and send charset=utf-8 or no charset", cs)
		}
		return decodeJSON(req)
	}
	return decodeBinary(req)
}

// decodeJSON reads the structured and batch modes.
func decodeJSON(req *protocol.Request) ([]event.Input, error) {
	body := req.Body
	start := jsonscan.SkipSpace(body, protocol.SkipBOM(body))
	batch := req.MediaType == MediaBatch
	if start == len(body) {
		if batch {
			return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
				"the body is empty; send a JSON array of CloudEvents (use [] for none)")
		}
		return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body is empty; send one CloudEvent as a JSON object with specversion, id, source, type and dataschema")
	}
	d := decoder{
		checkUTF8: !utf8.Valid(body),
		maxEvents: req.MaxEvents,
		// Attributes are a subset of the body's bytes: one buffer holds
		// them all.
		attrs: make([]byte, 0, len(body)+2),
	}
	var end int
	var err error
	switch {
	case batch && body[start] == '[':
		d.inputs = make([]event.Input, 0, min(len(body)/256+1, max(d.maxEvents, 1)))
		end, err = jsonscan.Array(body, start, func(n, es int) (int, error) {
			if perr := protocol.TooManyEvents(n+1, d.maxEvents); perr != nil {
				return es, perr
			}
			d.inputs = append(d.inputs, event.Input{})
			in := &d.inputs[len(d.inputs)-1]
			if body[es] == '{' {
				ee, err := d.event(body, es, in)
				if end, f, ok := protocol.EventRepeatsName(body, es, err); ok {
					*in = event.Input{Raw: body[es:end], Failure: f}
					return end, nil
				}
				return ee, err
			}
			ee, err := jsonscan.Skip(body, es)
			in.Raw = body[es:ee]
			in.Failure = event.NewFailure(event.ProtocolViolation, fmt.Sprintf(
				"event %d of the batch is %s, not a CloudEvent; each must be a JSON object with specversion, id, source, type and dataschema",
				n, jsonscan.Kind(body[es])))
			return ee, err
		})
	case !batch && body[start] == '{':
		d.inputs = make([]event.Input, 1)
		end, err = d.event(body, start, &d.inputs[0])
	default:
		end, err = jsonscan.Value(body, start)
		if err == nil && jsonscan.SkipSpace(body, end) == len(body) {
			if batch {
				return nil, protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation,
					"the body is %s, not a batch; %s is a JSON array of CloudEvents (send a single event as %s)",
					jsonscan.Kind(body[start]), MediaBatch, MediaStructured)
			}
			return nil, protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation,
				"the body is %s, not a CloudEvent; %s is one JSON object (send an array as %s)",
				jsonscan.Kind(body[start]), MediaStructured, MediaBatch)
		}
	}
	if perr := protocol.AsError(err); perr != nil {
		return nil, perr
	}
	if err != nil {
		return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body is not valid JSON: %v; send %s", err, describeMode(batch))
	}
	if j := jsonscan.SkipSpace(body, end); j != len(body) {
		return nil, protocol.Errorf(http.StatusBadRequest, event.PayloadFormatViolation,
			"the body is not valid JSON: unexpected data after the end of the first value at byte offset %d; send %s", j, describeMode(batch))
	}
	return d.inputs, nil
}

func describeMode(batch bool) string {
	if batch {
		return "a JSON array of CloudEvents as " + MediaBatch
	}
	return "one CloudEvent JSON object as " + MediaStructured + " (several as a JSON array with " + MediaBatch + ")"
}

type decoder struct {
	checkUTF8 bool
	maxEvents int
	attrs     []byte
	inputs    []event.Input
}

// Attributes of an event, as bits, to spot duplicates and missing ones.
const (
	aSpecVersion = 1 << iota
	aID
	aSource
	aType
	aDataContentType
	aDataSchema
	aSubject
	aTime
	aData
	aDataBase64
)

// attrNames are the names of the attribute bits, in bit order.
var attrNames = [...]string{"specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject", "time", "data", "data_base64"}

// attrBitBytes is attrBit for a name as bytes, without making a string.
func attrBitBytes(name []byte) uint16 {
	switch string(name) {
	case "specversion":
		return aSpecVersion
	case "id":
		return aID
	case "source":
		return aSource
	case "type":
		return aType
	case "datacontenttype":
		return aDataContentType
	case "dataschema":
		return aDataSchema
	case "subject":
		return aSubject
	case "time":
		return aTime
	case "data":
		return aData
	case "data_base64":
		return aDataBase64
	}
	return 0
}

// attrBit is attrBitBytes for a name as a string.
func attrBit(name string) uint16 {
	for i, n := range attrNames {
		if n == name {
			return 1 << i
		}
	}
	return 0
}

// problems collects what is wrong with one event.
type problems = protocol.Problems

// event reads the structured-mode event that starts at b[start] into in and
// returns the index just past it. The error is a syntax error.
func (d *decoder) event(b []byte, start int, in *event.Input) (int, error) {
	var seen uint16
	var p problems
	var contentType string
	var data []byte
	var dataB64 string
	attrStart := len(d.attrs)
	d.attrs = append(d.attrs, '{')
	end, err := jsonscan.Object(b, start, func(ks, ke, vs int) (int, error) {
		// Names and most values are compared as bytes: only the strings an
		// Input keeps (id, dataschema) and a few read briefly are made.
		lit := b[ks:ke]
		nameBytes := lit[1 : len(lit)-1]
		if jsonscan.HasEscape(lit) {
			nameBytes = []byte(jsonscan.UnquoteBytes(lit))
		}
		bit := attrBitBytes(nameBytes)
		name := ""
		if bit != 0 {
			name = attrNames[bits.TrailingZeros16(bit)]
			if seen&bit != 0 {
				p.Add(event.ProtocolViolation, "/"+name, "the attribute %s appears more than once; send it once", name)
			}
			seen |= bit
		}
		switch bit {
		case aData:
			ve, err := jsonscan.Value(b, vs)
			data = b[vs:ve]
			return ve, err
		case aDataBase64:
			if b[vs] == 'n' {
				seen &^= bit
			}
			s, ve, err := d.stringAttr(b, vs, name, &p)
			dataB64 = s
			return ve, err
		}
		if b[vs] == 'n' {
			// A null attribute is an absent one (JSON format, 2.2).
			seen &^= bit
			return jsonscan.Value(b, vs)
		}
		ve, err := jsonscan.Value(b, vs)
		if err != nil {
			return ve, err
		}
		if bit == 0 {
			if !validName(nameBytes) {
				name = string(nameBytes)
				p.Add(event.ProtocolViolation, "/"+jsonpointer.Escape(name), "%q is not a valid attribute name; extension attribute names are lower-case letters a-z and digits 0-9 only", name)
			} else if b[vs] == '{' || b[vs] == '[' {
				p.Add(event.ProtocolViolation, "/"+string(nameBytes), "the extension attribute %s is %s; extension values must be a string, an integer or a boolean", nameBytes, jsonscan.Kind(b[vs]))
			} else if b[vs] != '"' && b[vs] != 't' && b[vs] != 'f' && !isInteger(b[vs:ve]) {
				p.Add(event.ProtocolViolation, "/"+string(nameBytes), "the extension attribute %s is %s, not an integer; extension values must be a string, an integer or a boolean", nameBytes, b[vs:ve])
			}
		} else {
			var s string
			switch {
			case b[vs] != '"':
				p.Add(event.ProtocolViolation, "/"+name, "%s is %s; it must be a string", name, jsonscan.Kind(b[vs]))
			case bit == aSpecVersion && string(b[vs:ve]) == `"`+SpecVersion+`"`:
				s = SpecVersion
			case bit == aSource || bit == aType || bit == aSubject:
				// Kept in Attributes only: no string is needed.
				if ve-vs > 2 {
					s = name
				}
			default:
				s = jsonscan.UnquoteBytes(b[vs:ve])
			}
			switch bit {
			case aSpecVersion:
				if s != SpecVersion && b[vs] == '"' {
					p.Add(event.ProtocolViolation, "/specversion", "specversion %q is not supported; Accord reads CloudEvents %s: set specversion to %q", s, SpecVersion, SpecVersion)
				}
			case aID:
				in.EventID = s
			case aDataContentType:
				contentType = s
			case aDataSchema:
				in.SchemaKey = s
			case aTime:
				if s != "" {
					t, err := time.Parse(time.RFC3339Nano, s)
					if err != nil {
						p.Add(event.ProtocolViolation, "/time", "time %q is not an RFC 3339 timestamp; send one such as 2024-05-01T12:30:00.000Z", s)
					}
					in.CreatedAt = t
				}
			}
			if b[vs] == '"' && s == "" && bit != aSpecVersion {
				p.Add(event.ProtocolViolation, "/"+name, "%s is an empty string; it must be a non-empty string (or left out when optional)", name)
			}
		}
		if len(d.attrs) > attrStart+1 {
			d.attrs = append(d.attrs, ',')
		}
		d.attrs = append(append(append(d.attrs, b[ks:ke]...), ':'), b[vs:ve]...)
		return ve, nil
	})
	if err != nil {
		d.attrs = d.attrs[:attrStart]
		return end, err
	}
	d.attrs = append(d.attrs, '}')
	in.Attributes = d.attrs[attrStart:len(d.attrs):len(d.attrs)]
	in.Raw = b[start:end]
	if d.checkUTF8 && !utf8.Valid(in.Raw) {
		*in = event.Input{Raw: in.Raw, Failure: event.NewFailure(event.PayloadFormatViolation,
			"the event holds bytes that are not valid UTF-8; encode all text as UTF-8 (binary data goes base64-encoded in data_base64)")}
		return end, nil
	}
	required(seen, "", &p)
	in.Data = d.data(seen, contentType, data, dataB64, &p)
	in.Failure = p.Failure()
	return end, nil
}

// required reports missing required attributes and a missing dataschema.
// prefix is how attributes are sent: "" in JSON, "ce-" in headers.
func required(seen uint16, prefix string, p *problems) {
	for _, a := range [...]struct {
		bit  uint16
		name string
	}{{aSpecVersion, "specversion"}, {aID, "id"}, {aSource, "source"}, {aType, "type"}} {
		if seen&a.bit == 0 {
			p.Add(event.ProtocolViolation, "", "the required attribute %s%s is missing; a CloudEvent has specversion (%q), id, source and type", prefix, a.name, SpecVersion)
		}
	}
	if seen&aDataSchema == 0 {
		p.Add(event.SchemaNotFound, "", "the event has no dataschema, so Accord cannot tell which contract it follows; set %sdataschema to the contract's key, such as %s", prefix, exampleKey)
	}
}

// data returns the event's JSON data, or reports why there is none.
func (d *decoder) data(seen uint16, contentType string, data []byte, dataB64 string, p *problems) []byte {
	if seen&(aData|aDataBase64) == aData|aDataBase64 {
		p.Add(event.ProtocolViolation, "", "the event has both data and data_base64; send one: data for JSON or text, data_base64 for binary data")
		return nil
	}
	json := isJSONType(contentType)
	switch {
	case seen&aData != 0:
		if !json {
			p.Add(event.PayloadFormatViolation, "/data", "the data is %s, not JSON; Accord checks event data against a JSON contract, so send JSON data with datacontenttype application/json", contentType)
			return nil
		}
		return data
	case seen&aDataBase64 != 0:
		raw, err := base64.StdEncoding.DecodeString(dataB64)
		if err != nil {
			p.Add(event.PayloadFormatViolation, "/data_base64", "data_base64 is not valid base64 (RFC 4648, with padding): %v", err)
			return nil
		}
		return checkJSONData(raw, contentType, "/data_base64", "data_base64 decodes to", p)
	}
	return noData()
}

// checkJSONData returns raw when it is JSON with a JSON content type.
func checkJSONData(raw []byte, contentType, path, what string, p *problems) []byte {
	if !isJSONType(contentType) {
		p.Add(event.PayloadFormatViolation, path, "the data is %s, not JSON; Accord checks event data against a JSON contract, so send JSON data with Content-Type application/json", contentType)
		return nil
	}
	if !utf8.Valid(raw) {
		p.Add(event.PayloadFormatViolation, path, "%s bytes that are not valid UTF-8, so they are not JSON; send JSON encoded as UTF-8", what)
		return nil
	}
	if _, _, err := jsonscan.Document(raw, 0); err != nil {
		p.Add(event.PayloadFormatViolation, path, "%s bytes that are not valid JSON: %v; send the data as JSON, as datacontenttype %s says", what, err, orDefault(contentType))
		return nil
	}
	return raw
}

func orDefault(contentType string) string {
	if contentType == "" {
		return "application/json (implied when absent)"
	}
	return contentType
}

// stringAttr reads an attribute that must be a string or null.
func (d *decoder) stringAttr(b []byte, vs int, name string, p *problems) (string, int, error) {
	ve, err := jsonscan.Value(b, vs)
	if err != nil || b[vs] == 'n' {
		return "", ve, err
	}
	return d.stringValue(b, vs, ve, name, p), ve, nil
}

// stringValue returns the string b[vs:ve], or reports that it is not one.
func (d *decoder) stringValue(b []byte, vs, ve int, name string, p *problems) string {
	if b[vs] != '"' {
		p.Add(event.ProtocolViolation, "/"+name, "%s is %s; it must be a string", name, jsonscan.Kind(b[vs]))
		return ""
	}
	return jsonscan.UnquoteBytes(b[vs:ve])
}

// isJSONType reports whether a datacontenttype declares JSON: absent, */json
// or */*+json (JSON format, 3.1.1).
func isJSONType(ct string) bool {
	if ct == "" {
		return true
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	slash := strings.IndexByte(ct, '/')
	if slash <= 0 {
		return false
	}
	sub := strings.ToLower(ct[slash+1:])
	return sub == "json" || strings.HasSuffix(sub, "+json")
}

// validName reports whether name is a valid CloudEvents attribute name:
// lower-case ASCII letters and digits.
func validName[T string | []byte](name T) bool {
	if len(name) == 0 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isInteger reports whether a JSON number has only an integer part, as the
// JSON format maps the CloudEvents Integer type.
func isInteger(num []byte) bool {
	for _, c := range num {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}
