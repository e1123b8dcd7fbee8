package cloudevents

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/protocol"
)

// headerPrefix starts the name of every header that carries an attribute in
// binary mode.
const headerPrefix = "ce-"

type attr struct{ name, value string }

// decodeBinary reads a binary-mode event: attributes in ce-* headers, data in
// the body, datacontenttype in Content-Type.
func decodeBinary(req *protocol.Request) ([]event.Input, error) {
	var attrs []attr
	var seen uint16
	var p problems
	// Read the headers in a fixed order so that messages are too.
	var keys []string
	for key := range req.Header {
		if len(key) >= len(headerPrefix) && strings.EqualFold(key[:len(headerPrefix)], headerPrefix) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		values := req.Header[key]
		if len(key) == len(headerPrefix) {
			p.Add(event.ProtocolViolation, "", "a header named %s has no attribute name; name it ce-<attribute>", key)
			continue
		}
		name := strings.ToLower(key[len(headerPrefix):])
		header := headerPrefix + name
		if len(values) == 0 {
			continue
		}
		if len(values) != 1 {
			p.Add(event.ProtocolViolation, "", "the header %s was sent %d times; send each attribute once", header, len(values))
		}
		value := values[0]
		if strings.IndexByte(value, '%') >= 0 {
			// Attribute values are percent-encoded in headers
			// (HTTP protocol binding, 3.1.3.2).
			v, err := url.PathUnescape(value)
			if err != nil {
				p.Add(event.ProtocolViolation, "/"+name, "the header %s is not correctly percent-encoded: %v; encode %% as %%25", header, err)
			} else {
				value = v
			}
		}
		if !utf8.ValidString(value) {
			p.Add(event.PayloadFormatViolation, "/"+name, "the header %s holds bytes that are not valid UTF-8; percent-encode its UTF-8 bytes", header)
		}
		bit := attrBit(name)
		switch {
		case bit == aData || bit == aDataBase64:
			p.Add(event.ProtocolViolation, "/"+name, "the header %s is not allowed; in binary mode the data is the request body", header)
			continue
		case bit == aDataContentType:
			p.Add(event.ProtocolViolation, "/"+name, "the header %s is not allowed; in binary mode datacontenttype is the Content-Type header", header)
			continue
		case bit == 0 && !validName(name):
			p.Add(event.ProtocolViolation, "/"+jsonpointer.Escape(name), "the header %s does not name a valid attribute; attribute names are lower-case letters a-z and digits 0-9 only", header)
		}
		seen |= bit
		attrs = append(attrs, attr{name, value})
	}
	if len(attrs) == 0 && p.Len() == 0 {
		return nil, protocol.Errorf(http.StatusBadRequest, event.ProtocolViolation,
			"the request carries no CloudEvent: send one as %s (structured mode), several as %s (batch mode), or the data as the body with ce-specversion, ce-id, ce-source, ce-type and ce-dataschema headers (binary mode)",
			MediaStructured, MediaBatch)
	}
	contentType := req.Header.Get("Content-Type")
	if contentType != "" {
		seen |= aDataContentType
		attrs = append(attrs, attr{"datacontenttype", contentType})
	}
	slices.SortStableFunc(attrs, func(a, b attr) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(attrs); i++ {
		if attrs[i].name == attrs[i-1].name {
			p.Add(event.ProtocolViolation, "/"+attrs[i].name, "the header ce-%s was sent more than once; send each attribute once", attrs[i].name)
		}
	}

	in := event.Input{}
	for _, a := range attrs {
		switch attrBit(a.name) {
		case aSpecVersion:
			if a.value != SpecVersion {
				p.Add(event.ProtocolViolation, "/specversion", "ce-specversion %q is not supported; Accord reads CloudEvents %s: set ce-specversion to %q", a.value, SpecVersion, SpecVersion)
			}
		case aID:
			in.EventID = a.value
		case aDataSchema:
			in.SchemaKey = a.value
		case aTime:
			t, err := time.Parse(time.RFC3339Nano, a.value)
			if err != nil {
				p.Add(event.ProtocolViolation, "/time", "ce-time %q is not an RFC 3339 timestamp; send one such as 2024-05-01T12:30:00.000Z", a.value)
			}
			in.CreatedAt = t
		}
		if a.value == "" && attrBit(a.name) != 0 && attrBit(a.name) != aSpecVersion {
			p.Add(event.ProtocolViolation, "/"+a.name, "ce-%s is empty; it must be a non-empty string (or left out when optional)", a.name)
		}
	}
	required(seen, headerPrefix, &p)

	body := req.Body
	dataIsJSON := false
	switch {
	case len(body) == 0:
		in.Data = noData()
	default:
		in.Data = checkJSONData(body, contentType, "/data", "the body holds", &p)
		dataIsJSON = in.Data != nil
	}
	in.Failure = p.Failure()

	// Attributes: every attribute as a JSON string. Raw: the event as a
	// structured-mode JSON object, so that a failed record loses nothing.
	size := 2
	for _, a := range attrs {
		size += len(a.name) + len(a.value) + 6
	}
	buf := make([]byte, 0, 2*size+len(body)*4/3+16)
	buf = append(buf, '{')
	for i, a := range attrs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = jsonscan.AppendString(buf, a.name)
		buf = append(buf, ':')
		buf = jsonscan.AppendString(buf, a.value)
	}
	buf = append(buf, '}')
	in.Attributes = buf[:len(buf):len(buf)]
	raw := append(buf[len(buf):], buf[:len(buf)-1]...)
	if len(body) > 0 {
		if len(attrs) > 0 {
			raw = append(raw, ',')
		}
		switch {
		case dataIsJSON:
			raw = append(raw, `"data":`...)
			raw = append(raw, body...)
		case !isJSONType(contentType) && utf8.Valid(body):
			raw = append(raw, `"data":`...)
			raw = jsonscan.AppendString(raw, string(body))
		default:
			raw = append(raw, `"data_base64":"`...)
			raw = base64.StdEncoding.AppendEncode(raw, body)
			raw = append(raw, '"')
		}
	}
	in.Raw = append(raw, '}')
	return req.OneInput(in), nil
}
