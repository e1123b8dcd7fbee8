package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/accord-events/accord/internal/jsonscan"
)

// DecodeEnvelope reads an envelope that AppendJSON wrote (or any JSON
// document of the same shape) into e. Keys it does not know are skipped, so
// records written by a newer Accord still read.
//
// It is written by hand because every record read back from the spool is
// decoded once per sink, and encoding/json spent a third of the delivery
// CPU there (BenchmarkDecodeEnvelope has the numbers). The raw JSON fields
// (payload, attributes, context data) point into b, which must therefore
// not change while e is in use.
func DecodeEnvelope(b []byte, e *Envelope) error {
	return decodeEnvelope(b, string(b), e)
}

// DecodeEnvelopeShared is DecodeEnvelope whose strings share b's memory
// instead of a copy of it: for records read from the spool, whose bytes
// are the reader's and never written again, it saves a copy of every
// record (and the memory of it while a batch waits for its sink). b must
// never change afterwards (AppendJSON's caches of encoded runs compare
// the strings they keep by address first), and whoever keeps one of e's
// strings after e keeps all of b: clone what is kept (strings.Clone). Set
// e.JSON to b, as delivery does, so that AppendJSON copies b rather than
// encode e again and cache strings that share b.
func DecodeEnvelopeShared(b []byte, e *Envelope) error {
	return decodeEnvelope(b, unsafe.String(unsafe.SliceData(b), len(b)), e)
}

func decodeEnvelope(b []byte, text string, e *Envelope) error {
	d := envelopeDecoder{b: b, text: text}
	start := jsonscan.SkipSpace(b, 0)
	if start == len(b) || b[start] != '{' {
		return errors.New("decode envelope: not a JSON object")
	}
	end, err := jsonscan.Object(b, start, func(ks, ke, vs int) (int, error) {
		return d.member(e, d.text[ks+1:ke-1], vs)
	})
	if err != nil {
		return fmt.Errorf("decode envelope: %w", err)
	}
	if jsonscan.SkipSpace(b, end) != len(b) {
		return errors.New("decode envelope: data after the object")
	}
	return nil
}

// errFoundValid ends PeekValid's walk once it has read valid.
var errFoundValid = errors.New("found valid")

// PeekValid reads only the valid member of an encoded envelope: what
// delivery needs to select records for a sink that writes them as JSON.
// It walks the members before valid (AppendJSON writes a dozen short strings
// there) without decoding them, and the rest not at all, so it does not
// check the document beyond valid; the spool's checksums vouch for the
// bytes it reads records from.
func PeekValid(b []byte) (bool, error) {
	start := jsonscan.SkipSpace(b, 0)
	if start == len(b) || b[start] != '{' {
		return false, errors.New("peek envelope: not a JSON object")
	}
	var valid, found bool
	_, err := jsonscan.Object(b, start, func(ks, ke, vs int) (int, error) {
		if string(b[ks:ke]) != `"valid"` {
			return jsonscan.Value(b, vs)
		}
		switch {
		case bytes.HasPrefix(b[vs:], []byte("true")):
			valid, found = true, true
		case bytes.HasPrefix(b[vs:], []byte("false")):
			found = true
		default:
			return vs, fmt.Errorf("valid: want true or false at byte %d", vs)
		}
		return vs, errFoundValid
	})
	if found {
		return valid, nil
	}
	if err != nil {
		return false, fmt.Errorf("peek envelope: %w", err)
	}
	// An envelope without valid decodes as not valid.
	return false, nil
}

type envelopeDecoder struct {
	b    []byte
	text string // b as a string, so unescaped strings are substrings of it
}

// member decodes one envelope member; key is its name as written (keys
// with escapes never match and are skipped, as AppendJSON writes none).
func (d *envelopeDecoder) member(e *Envelope, key string, i int) (int, error) {
	switch key {
	case "event_id":
		return d.str(i, &e.EventID)
	case "request_id":
		return d.str(i, &e.RequestID)
	case "collected_at":
		return d.time(i, &e.CollectedAt)
	case "sent_at":
		return d.time(i, &e.SentAt)
	case "created_at":
		return d.time(i, &e.CreatedAt)
	case "event_time":
		return d.time(i, &e.EventTime)
	case "protocol":
		return d.str(i, &e.Protocol)
	case "schema":
		return d.str(i, &e.Schema)
	case "vendor":
		return d.str(i, &e.Vendor)
	case "name":
		return d.str(i, &e.Name)
	case "version":
		return d.str(i, &e.Version)
	case "namespace":
		return d.str(i, &e.Namespace)
	case "valid":
		switch {
		case d.literal(i, "true"):
			e.Valid = true
			return i + 4, nil
		case d.literal(i, "false"):
			e.Valid = false
			return i + 5, nil
		}
		return i, fmt.Errorf("valid: want true or false at byte %d", i)
	case "payload":
		return d.raw(i, &e.Payload)
	case "attributes":
		return d.raw(i, &e.Attributes)
	case "contexts":
		return d.contexts(i, e)
	case "source":
		return d.object(i, func(k string, j int) (int, error) {
			switch k {
			case "ip":
				return d.str(j, &e.Source.IP)
			case "user_agent":
				return d.str(j, &e.Source.UserAgent)
			case "referer":
				return d.str(j, &e.Source.Referer)
			case "origin":
				return d.str(j, &e.Source.Origin)
			case "path":
				return d.str(j, &e.Source.Path)
			}
			return jsonscan.Value(d.b, j)
		})
	case "identity":
		return d.object(i, func(k string, j int) (int, error) {
			switch k {
			case "user_id":
				return d.str(j, &e.Identity.UserID)
			case "anonymous_id":
				return d.str(j, &e.Identity.AnonymousID)
			case "network_user_id":
				return d.str(j, &e.Identity.NetworkUserID)
			}
			return jsonscan.Value(d.b, j)
		})
	case "collector":
		return d.object(i, func(k string, j int) (int, error) {
			switch k {
			case "name":
				return d.str(j, &e.Collector.Name)
			case "version":
				return d.str(j, &e.Collector.Version)
			case "env":
				return d.str(j, &e.Collector.Env)
			case "host":
				return d.str(j, &e.Collector.Host)
			}
			return jsonscan.Value(d.b, j)
		})
	case "fingerprint":
		return d.str(i, &e.Fingerprint)
	case "replayed_at":
		return d.time(i, &e.ReplayedAt)
	case "original_event_id":
		return d.str(i, &e.OriginalEventID)
	case "failure":
		// Failed records are the rare case; encoding/json reads them.
		end, err := jsonscan.Value(d.b, i)
		if err != nil {
			return end, err
		}
		if d.literal(i, "null") {
			e.Failure = nil
			return end, nil
		}
		f := new(Failure)
		if err := json.Unmarshal(d.b[i:end], f); err != nil {
			return i, fmt.Errorf("failure: %w", err)
		}
		e.Failure = f
		return end, nil
	case "raw":
		return d.str(i, &e.Raw)
	case "raw_encoding":
		return d.str(i, &e.RawEncoding)
	}
	return jsonscan.Value(d.b, i)
}

func (d *envelopeDecoder) literal(i int, lit string) bool {
	return len(d.b)-i >= len(lit) && d.text[i:i+len(lit)] == lit
}

// str reads a string, or null as "".
func (d *envelopeDecoder) str(i int, dst *string) (int, error) {
	if d.literal(i, "null") {
		*dst = ""
		return i + 4, nil
	}
	if d.b[i] != '"' {
		return i, fmt.Errorf("want a string at byte %d, found %s", i, jsonscan.Kind(d.b[i]))
	}
	end, err := jsonscan.String(d.b, i)
	if err != nil {
		return end, err
	}
	*dst = jsonscan.Unquote(d.b[i:end], d.text[i:end])
	return end, nil
}

// time reads a timestamp, or null as the zero time. The layout AppendJSON
// writes is parsed by hand; anything else RFC 3339 goes through time.Parse.
func (d *envelopeDecoder) time(i int, dst *Time) (int, error) {
	var s string
	end, err := d.str(i, &s)
	if err != nil || s == "" {
		dst.Time = time.Time{}
		return end, err
	}
	if t, ok := parseTimeLayout(s); ok {
		dst.Time = t
		return end, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return i, fmt.Errorf("timestamp at byte %d: %w", i, err)
	}
	dst.Time = t
	return end, nil
}

// parseTimeLayout parses "2006-01-02T15:04:05.000000Z" (TimeLayout).
func parseTimeLayout(s string) (time.Time, bool) {
	if len(s) != len(TimeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for k := from; k < to; k++ {
			c := s[k]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	micro, ok7 := num(20, 26)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, micro*1000, time.UTC)
	if t.Day() != day {
		return time.Time{}, false // February 30th and the like
	}
	return t, true
}

// raw reads any JSON value as raw bytes pointing into b; null is kept as
// nil, as the encoder writes nil as null.
func (d *envelopeDecoder) raw(i int, dst *json.RawMessage) (int, error) {
	end, err := jsonscan.Value(d.b, i)
	if err != nil {
		return end, err
	}
	if d.literal(i, "null") {
		*dst = nil
		return end, nil
	}
	*dst = json.RawMessage(d.b[i:end:end])
	return end, nil
}

func (d *envelopeDecoder) object(i int, member func(key string, j int) (int, error)) (int, error) {
	if d.literal(i, "null") {
		return i + 4, nil
	}
	if d.b[i] != '{' {
		return i, fmt.Errorf("want an object at byte %d, found %s", i, jsonscan.Kind(d.b[i]))
	}
	return jsonscan.Object(d.b, i, func(ks, ke, vs int) (int, error) {
		return member(d.text[ks+1:ke-1], vs)
	})
}

func (d *envelopeDecoder) contexts(i int, e *Envelope) (int, error) {
	if d.literal(i, "null") {
		e.Contexts = nil
		return i + 4, nil
	}
	if d.b[i] != '[' {
		return i, fmt.Errorf("contexts: want an array at byte %d, found %s", i, jsonscan.Kind(d.b[i]))
	}
	e.Contexts = []Context{}
	return jsonscan.Array(d.b, i, func(_, j int) (int, error) {
		var c Context
		end, err := d.object(j, func(k string, v int) (int, error) {
			switch k {
			case "schema":
				return d.str(v, &c.Schema)
			case "data":
				return d.raw(v, &c.Data)
			}
			return jsonscan.Value(d.b, v)
		})
		if err == nil {
			e.Contexts = append(e.Contexts, c)
		}
		return end, err
	})
}
