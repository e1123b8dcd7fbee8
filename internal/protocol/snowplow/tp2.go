package snowplow

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonpointer"
	"github.com/accord-events/accord/internal/jsonscan"
)

// The tp2 fields the decoder reads itself, as indexes of a [numParams]
// array and bits of a mask. Every other field is kept in Attributes.
const (
	pE = iota
	pP
	pTV
	pEID
	pDTM
	pSTM
	pUID
	pDUID
	pNUID
	pTNUID
	pTNA
	pURL
	pPage
	pRefr
	pUEPr
	pUEPx
	pCO
	pCX
	pPPMix
	pPPMax
	pPPMiy
	pPPMay
	pSECa
	pSEAc
	pSELa
	pSEPr
	pSEVa
	pTRId
	pTRAf
	pTRTt
	pTRTx
	pTRSh
	pTRCi
	pTRSt
	pTRCo
	pTRCu
	pTIId
	pTISk
	pTINm
	pTICa
	pTIPr
	pTIQu
	pTICu
	numParams
)

// paramNames are the tp2 names of the fields above, in order.
var paramNames = [numParams]string{
	"e", "p", "tv", "eid", "dtm", "stm", "uid", "duid", "nuid", "tnuid", "tna", "url", "page", "refr",
	"ue_pr", "ue_px", "co", "cx",
	"pp_mix", "pp_max", "pp_miy", "pp_may",
	"se_ca", "se_ac", "se_la", "se_pr", "se_va",
	"tr_id", "tr_af", "tr_tt", "tr_tx", "tr_sh", "tr_ci", "tr_st", "tr_co", "tr_cu",
	"ti_id", "ti_sk", "ti_nm", "ti_ca", "ti_pr", "ti_qu", "ti_cu",
}

func bit(i int) uint64 { return 1 << i }

// Masks of fields.
const (
	// alsoAttributes are read by the decoder and kept in Attributes too:
	// the protocol's own fields, and the page fields, which are event data
	// for page views and pings but describe the page of every other event.
	alsoAttributes = 1<<pE | 1<<pP | 1<<pTV | 1<<pURL | 1<<pPage | 1<<pRefr
	// typeSpecific are the fields of one event type; sent with an event of
	// another type, they are kept in Attributes.
	typeSpecific = 1<<pUEPr | 1<<pUEPx |
		1<<pPPMix | 1<<pPPMax | 1<<pPPMiy | 1<<pPPMay |
		1<<pSECa | 1<<pSEAc | 1<<pSELa | 1<<pSEPr | 1<<pSEVa |
		1<<pTRId | 1<<pTRAf | 1<<pTRTt | 1<<pTRTx | 1<<pTRSh | 1<<pTRCi | 1<<pTRSt | 1<<pTRCo | 1<<pTRCu |
		1<<pTIId | 1<<pTISk | 1<<pTINm | 1<<pTICa | 1<<pTIPr | 1<<pTIQu | 1<<pTICu
)

// kind is how a field's value is written in an event's data.
type kind uint8

const (
	kString  kind = iota
	kInteger      // a whole number, written as parsed
	kNumber       // a JSON number, written as sent
)

// dataField is one property of a built-in event type's data.
type dataField struct {
	param int
	name  string
	kind  kind
}

// eventType is a built-in event type: its contract and the fields its data
// is built from.
type eventType struct {
	schema string
	fields []dataField
	// uses are the type-specific fields the type reads.
	uses uint64
}

// Contract keys of the built-in event types, shipped in Contracts.
const (
	SchemaPageView        = "iglu:com.snowplowanalytics.snowplow/page_view/jsonschema/1-0-0"
	SchemaPagePing        = "iglu:com.snowplowanalytics.snowplow/page_ping/jsonschema/1-0-0"
	SchemaStructuredEvent = "iglu:com.snowplowanalytics.snowplow/structured_event/jsonschema/1-0-0"
	SchemaTransaction     = "iglu:com.snowplowanalytics.snowplow/transaction/jsonschema/1-0-0"
	SchemaTransactionItem = "iglu:com.snowplowanalytics.snowplow/transaction_item/jsonschema/1-0-0"
)

var (
	pageView = eventType{schema: SchemaPageView, fields: []dataField{
		{pURL, "page_url", kString}, {pPage, "page_title", kString}, {pRefr, "referrer", kString},
	}}
	pagePing = eventType{schema: SchemaPagePing, fields: []dataField{
		{pURL, "page_url", kString}, {pPage, "page_title", kString}, {pRefr, "referrer", kString},
		{pPPMix, "min_x", kInteger}, {pPPMax, "max_x", kInteger}, {pPPMiy, "min_y", kInteger}, {pPPMay, "max_y", kInteger},
	}, uses: 1<<pPPMix | 1<<pPPMax | 1<<pPPMiy | 1<<pPPMay}
	structuredEvent = eventType{schema: SchemaStructuredEvent, fields: []dataField{
		{pSECa, "category", kString}, {pSEAc, "action", kString}, {pSELa, "label", kString},
		{pSEPr, "property", kString}, {pSEVa, "value", kNumber},
	}, uses: 1<<pSECa | 1<<pSEAc | 1<<pSELa | 1<<pSEPr | 1<<pSEVa}
	transaction = eventType{schema: SchemaTransaction, fields: []dataField{
		{pTRId, "order_id", kString}, {pTRAf, "affiliation", kString}, {pTRTt, "total", kNumber},
		{pTRTx, "tax", kNumber}, {pTRSh, "shipping", kNumber}, {pTRCi, "city", kString},
		{pTRSt, "state", kString}, {pTRCo, "country", kString}, {pTRCu, "currency", kString},
	}, uses: 1<<pTRId | 1<<pTRAf | 1<<pTRTt | 1<<pTRTx | 1<<pTRSh | 1<<pTRCi | 1<<pTRSt | 1<<pTRCo | 1<<pTRCu}
	transactionItem = eventType{schema: SchemaTransactionItem, fields: []dataField{
		{pTIId, "order_id", kString}, {pTISk, "sku", kString}, {pTINm, "name", kString},
		{pTICa, "category", kString}, {pTIPr, "price", kNumber}, {pTIQu, "quantity", kInteger},
		{pTICu, "currency", kString},
	}, uses: 1<<pTIId | 1<<pTISk | 1<<pTINm | 1<<pTICa | 1<<pTIPr | 1<<pTIQu | 1<<pTICu}
	// unstructEvent names its own contract.
	unstructEvent = eventType{uses: 1<<pUEPr | 1<<pUEPx}
)

// eventTypes lists the accepted values of e, for messages.
const eventTypes = "pv (page view), pp (page ping), se (structured event), tr (transaction), ti (transaction item) or ue (self-describing event)"

// typeOf returns the event type e names, or nil.
func typeOf(e string) *eventType {
	switch e {
	case "pv":
		return &pageView
	case "pp":
		return &pagePing
	case "se", "ev": // ev is the structured event's name in old trackers
		return &structuredEvent
	case "tr":
		return &transaction
	case "ti":
		return &transactionItem
	case "ue":
		return &unstructEvent
	}
	return nil
}

// maxMillis is the last millisecond of the year 9999, the latest time an
// envelope timestamp can hold.
const maxMillis = 253402300799999

// build turns d.fields, the fields of one event, into in, adding what is
// wrong to p and setting in.Failure when anything is.
func (d *decoder) build(in *event.Input, p *problems) {
	var v [numParams]string
	// fieldOf is where each field the decoder reads was in d.fields.
	var fieldOf [numParams]int32
	var sent, has uint64
	d.attrs, d.order, d.known, d.attrsTwice = d.attrs[:0], d.order[:0], [2]uint64{}, false
	for k, f := range d.fields {
		r := int(f.rank) - 1
		if f.rank == 0 {
			r = knownRank(namePrefix(d.bytes(f.name)), f.name.n)
		}
		if r < 0 {
			d.addAttr(f, namePrefix(d.bytes(f.name)), -1)
			continue
		}
		i := int(knownAttrs[r].param)
		if i < 0 {
			d.addAttr(f, knownAttrs[r].prefix, r)
			continue
		}
		name := d.str(f.name)
		if sent&bit(i) != 0 {
			p.Add(event.ProtocolViolation, "/"+name, "the field %s appears more than once; send it once", name)
			continue
		}
		sent |= bit(i)
		v[i] = d.str(f.value)
		fieldOf[i] = int32(k)
		// An empty value is an absent one: trackers leave out what they
		// do not know, and an empty id, time or number would only fail
		// later.
		if f.value.n != 0 {
			has |= bit(i)
		}
	}

	if has&bit(pE) == 0 {
		p.Add(event.ProtocolViolation, "/e", "the event has no e (event type); set e to %s", eventTypes)
	}
	if has&bit(pP) == 0 {
		p.Add(event.ProtocolViolation, "/p", "the event has no p (platform); set p to the platform the tracker runs on, such as web, mob, pc, srv, app, tv, cnsl or iot")
	}
	if has&bit(pTV) == 0 {
		p.Add(event.ProtocolViolation, "/tv", "the event has no tv (tracker version); set tv to the tracker's name and version, such as js-3.24.0")
	}
	t := typeOf(v[pE])
	if t == nil && has&bit(pE) != 0 {
		p.Add(event.ProtocolViolation, "/e", "e %q is not an event type Accord reads; set e to %s", v[pE], eventTypes)
	}

	in.EventID = v[pEID]
	in.CreatedAt = millis(v[pDTM], "dtm", "created on the device", p)
	in.SentAt = millis(v[pSTM], "stm", "sent by the tracker", p)
	in.Namespace = v[pTNA]
	in.Identity.UserID = v[pUID]
	in.Identity.AnonymousID = v[pDUID]
	in.Identity.NetworkUserID = v[pNUID]
	// tnuid is the network user id a tracker sets explicitly, and wins;
	// a different nuid sent with it is kept in Attributes.
	attrs := sent&alsoAttributes | sent&typeSpecific
	if t != nil {
		attrs &^= t.uses
	}
	if has&bit(pTNUID) != 0 {
		if has&bit(pNUID) != 0 && v[pNUID] != v[pTNUID] {
			attrs |= bit(pNUID)
		}
		in.Identity.NetworkUserID = v[pTNUID]
	}

	d.contexts(&v, in, p)
	switch {
	case t == &unstructEvent:
		d.unstruct(&v, in, p)
	case t != nil:
		in.SchemaKey = t.schema
		in.Data = d.data(t, &v, has, p)
	}

	for m := attrs; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		d.addAttr(d.fields[fieldOf[i]], knownAttrs[paramRank[i]].prefix, int(paramRank[i]))
	}
	in.Attributes = d.attributes(p)
	in.Failure = p.Failure()
}

// millis reads a tp2 timestamp: milliseconds since the Unix epoch.
func millis(s, name, what string, p *problems) time.Time {
	if s == "" {
		return time.Time{}
	}
	n, err := parseMillis(s)
	if err != nil || n < 0 || n > maxMillis {
		p.Add(event.PayloadFormatViolation, "/"+name, "%s %q is not a time in milliseconds since the Unix epoch; set %s to when the event was %s, such as 1714566600123", name, s, name, what)
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// parseMillis is strconv.ParseInt(s, 10, 64) for a timestamp: the digits
// trackers send (up to 18, which cannot overflow) are read here, anything
// else (a sign, more digits, other bytes) by strconv.ParseInt.
func parseMillis(s string) (int64, error) {
	if len(s) == 0 || len(s) > 18 {
		return strconv.ParseInt(s, 10, 64)
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return strconv.ParseInt(s, 10, 64)
		}
		n = n*10 + int64(c)
	}
	return n, nil
}

// data builds the data of a built-in event type from its fields, in the
// order of the type's contract, leaving out fields not sent.
func (d *decoder) data(t *eventType, v *[numParams]string, has uint64, p *problems) []byte {
	start := len(d.buf)
	d.buf = append(d.buf, '{')
	ok := true
	for _, f := range t.fields {
		if has&bit(f.param) == 0 {
			continue
		}
		if len(d.buf) > start+1 {
			d.buf = append(d.buf, ',')
		}
		d.buf = append(d.buf, '"')
		d.buf = append(d.buf, f.name...)
		d.buf = append(d.buf, '"', ':')
		s := v[f.param]
		name := paramNames[f.param]
		switch f.kind {
		case kString:
			d.buf = jsonscan.AppendString(d.buf, s)
		case kInteger:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				p.Add(event.PayloadFormatViolation, "/"+name, "%s %q is not an integer; send %s (%s) as a whole number such as 250", name, s, name, f.name)
				ok = false
				continue
			}
			d.buf = strconv.AppendInt(d.buf, n, 10)
		case kNumber:
			if !jsonscan.IsNumber(s) {
				p.Add(event.PayloadFormatViolation, "/"+name, "%s %q is not a number; send %s (%s) as a decimal number such as 12.5, without currency symbols or thousands separators", name, s, name, f.name)
				ok = false
				continue
			}
			d.buf = append(d.buf, s...)
		}
	}
	if !ok {
		d.buf = d.buf[:start]
		return nil
	}
	d.buf = append(d.buf, '}')
	return d.buf[start:len(d.buf):len(d.buf)]
}

// attributes writes d.attrs as a JSON object of strings, sorted by name so
// that the same event always has the same attributes. It reports fields sent
// twice, which only a JSON body can hold.
func (d *decoder) attributes(p *problems) []byte {
	// Sorting indexes rather than the fields themselves moves no pointers,
	// which the garbage collector would have to hear about; each index
	// comes with the first eight bytes of its name, which order nearly
	// every pair of names without reading the names themselves.
	if !d.orderKnown() {
		// Sorted as they are.
		d.order = d.order[:0]
		for i := range d.attrs {
			d.order = append(d.order, attrOrder{namePrefix(d.bytes(d.attrs[i].name)), int32(i)})
		}
		d.sortAttrs()
	}
	start := len(d.buf)
	d.buf = append(d.buf, '{')
	for k, o := range d.order {
		f := d.attrs[o.i]
		// Read in place: appending them to buf reads them before it may
		// move buf.
		name, value := d.bytes(f.name), d.bytes(f.value)
		if k > 0 {
			if prev := d.order[k-1]; o.prefix == prev.prefix && string(name) == d.attrName(prev) {
				p.Add(event.ProtocolViolation, "/"+jsonpointer.Escape(string(name)), "the field %s appears more than once; send it once", name)
				continue
			}
			d.buf = append(d.buf, ',')
		}
		if n := len(name) + len(value) + 5; f.verbatim && len(name) <= 8 && cap(d.buf)-len(d.buf) >= n+8 {
			// "name":"value" written in place: a name of up to eight
			// bytes is its prefix, written as one word (the bytes after it
			// are overwritten next), then the value copied.
			l := len(d.buf)
			b := d.buf[l : l+n+8]
			b[0] = '"'
			binary.BigEndian.PutUint64(b[1:], o.prefix)
			b[len(name)+1], b[len(name)+2], b[len(name)+3] = '"', ':', '"'
			copy(b[len(name)+4:], value)
			b[n-1] = '"'
			d.buf = d.buf[:l+n]
			continue
		}
		if f.verbatim {
			d.buf = append(d.buf, '"')
			d.buf = append(d.buf, name...)
			d.buf = append(d.buf, '"', ':', '"')
			d.buf = append(d.buf, value...)
			d.buf = append(d.buf, '"')
			continue
		}
		d.buf = jsonscan.AppendString(d.buf, d.str(f.name))
		d.buf = append(d.buf, ':')
		d.buf = jsonscan.AppendString(d.buf, d.str(f.value))
	}
	d.buf = append(d.buf, '}')
	return d.buf[start:len(d.buf):len(d.buf)]
}

// sortAttrs sorts d.order, the attributes' places, by name, exactly as
// slices.SortFunc with compareAttrs does (which fields sent twice make
// visible: the first of the two in that order is kept). An event's few
// dozen attributes are sorted by insertion, without a call per
// comparison, which is what slices.SortFunc itself does for up to 12
// elements and is stable; for more, its order of equal names may differ
// from a stable one, so an event that sends a field twice is sorted again
// by slices.SortFunc. More than maxInsertionSort attributes (never a
// tracker's event) go to slices.SortFunc directly, which bounds the work.
func (d *decoder) sortAttrs() {
	o := d.order
	if len(o) > maxInsertionSort {
		slices.SortFunc(o, d.compareAttrs)
		return
	}
	for i := 1; i < len(o); i++ {
		// Moved rather than swapped into place: the same order as the
		// swaps of slices.SortFunc's insertion sort, half the stores.
		x, j := o[i], i
		for ; j > 0 && (x.prefix < o[j-1].prefix || x.prefix == o[j-1].prefix && d.attrName(x) < d.attrName(o[j-1])); j-- {
			o[j] = o[j-1]
		}
		o[j] = x
	}
	if len(o) <= 12 {
		return
	}
	for k := 1; k < len(o); k++ {
		if o[k].prefix == o[k-1].prefix && d.attrName(o[k]) == d.attrName(o[k-1]) {
			for i := range o {
				o[i] = attrOrder{namePrefix(d.bytes(d.attrs[i].name)), int32(i)}
			}
			slices.SortFunc(o, d.compareAttrs)
			return
		}
	}
}

// maxInsertionSort is the most attributes sortAttrs sorts by insertion.
const maxInsertionSort = 64

// attrName is the name of the attribute at place o.
func (d *decoder) attrName(o attrOrder) string { return d.str(d.attrs[o.i].name) }

// compareAttrs orders attribute places by name.
func (d *decoder) compareAttrs(a, b attrOrder) int {
	if a.prefix != b.prefix {
		return cmp.Compare(a.prefix, b.prefix)
	}
	return strings.Compare(d.attrName(a), d.attrName(b))
}

// attrOrder is an attribute's place in the order of names: the first
// eight bytes of its name (namePrefix) and its index in decoder.attrs.
type attrOrder struct {
	prefix uint64
	i      int32
}

// namePrefix is the first eight bytes of name, big-endian and padded with
// zeros: two names whose prefixes differ compare as their prefixes do.
func namePrefix(name []byte) uint64 {
	n := len(name)
	if n >= 8 {
		return binary.BigEndian.Uint64(name)
	}
	// Four, two and one bytes, as n's bits say.
	var x uint64
	if n&4 != 0 {
		x = uint64(binary.BigEndian.Uint32(name)) << 32
	}
	if n&2 != 0 {
		x |= uint64(binary.BigEndian.Uint16(name[n&4:])) << (48 - 8*(n&4))
	}
	if n&1 != 0 {
		x |= uint64(name[n-1]) << (56 - 8*(n&^1))
	}
	return x
}
