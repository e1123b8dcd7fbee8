package snowplow

import (
	"encoding/base64"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/racedetector"
)

// decodeQueryOld is how GET /i was read before DecodeQueryText: the server
// parsed the query into url.Values and the decoder took them with the raw
// query.
func decodeQueryOld(raw string, noPredecode bool) (event.Input, error) {
	q, _ := url.ParseQuery(raw)
	return decodeRawQuery(q, raw, ways{noPredecode: noPredecode})
}

// sameDecoding fails t unless DecodeQueryText reads raw exactly as
// url.ParseQuery and DecodeRawQuery together read it.
func sameDecoding(t *testing.T, raw string) {
	t.Helper()
	for _, noPredecode := range []bool{false, true} {
		want, werr := decodeQueryOld(raw, noPredecode)
		got, gerr := decodeQueryText(raw, ways{noPredecode: noPredecode})
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("query %q: error %v, url.ParseQuery and DecodeRawQuery: %v", raw, gerr, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("query %q (noPredecode %v):\n got %+v\nwant %+v\n got data %s attrs %s\nwant data %s attrs %s",
				raw, noPredecode, got, want, got.Data, got.Attributes, want.Data, want.Attributes)
		}
	}
	// Attributes put in order from their known names, as when every name
	// is sorted.
	want, werr := decodeQueryText(raw, ways{})
	sorted, serr := decodeQueryText(raw, ways{sortAll: true})
	if !reflect.DeepEqual(sorted, want) || !reflect.DeepEqual(serr, werr) {
		t.Fatalf("query %q: attributes ordered from known names %s, sorted %s", raw, want.Attributes, sorted.Attributes)
	}
	// DecodeGETQuery: the server's check (protocol.CheckQuery) and then
	// DecodeQueryText, in one.
	got, gerr := DecodeGETQuery(raw)
	if cerr := protocol.CheckQuery(raw); cerr != nil {
		want := protocol.QueryError(cerr, raw)
		if !reflect.DeepEqual(gerr, want) || !reflect.DeepEqual(got, event.Input{}) {
			t.Fatalf("query %q: DecodeGETQuery = %+v, %v; want the server's %v", raw, got, gerr, want)
		}
		return
	}
	want, werr = DecodeQueryText(raw)
	if !reflect.DeepEqual(gerr, werr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("query %q: DecodeGETQuery = %+v, %v; DecodeQueryText: %+v, %v", raw, got, gerr, want, werr)
	}
	// The query is read in a scratch buffer, which the next query's
	// reading overwrites: what they returned is not in it.
	old, _ := decodeQueryOld(raw, false)
	overwriteScratch(len(raw))
	if !reflect.DeepEqual(got, old) || !reflect.DeepEqual(want, old) {
		t.Fatalf("query %q: what DecodeGETQuery and DecodeQueryText returned changed as another query was read:\n got %+v\n and %+v\nwant %+v", raw, got, want, old)
	}
}

// overwriteScratch reads queries of n bytes that write every byte of the
// scratch buffer readQuery reads a query of n bytes in: its copy, the
// names unescaped after it, and the payloads decoded.
func overwriteScratch(n int) {
	DecodeGETQuery(("ue_px=" + strings.Repeat("QUFB", n))[:n])
	DecodeGETQuery(strings.Repeat("%41", n/3) + "%41"[:n%3])
}

func TestDecodeQueryTextSameAsParseQuery(t *testing.T) {
	bench := benchEvent().query().Encode()
	many := strings.Repeat("x=1&", 9999) + "e=pv&p=web&tv=t"
	// 10,000 parameters, the most url.ParseQuery reads, and one more.
	most := strings.Repeat("x=1&", 9997) + "e=pv&p=web&tv=t"
	for _, raw := range []string{
		"", "&", "&&&", "=", "==", "e", "e=pv&p=web&tv=js-3.24.0",
		bench,
		bench + "&e=se&eid=other", // repeated names: the first value
		"e=pv&p=web&tv=a+b&page=one+two%2Bthree&url=%41%62", // '+' is a space, %2B a plus
		"e=pv&p=web&tv=t&url=%FF&page=%zz&%C3%28=1",         // bad escape, bad UTF-8
		"e=pv&p=web&tv=t;page=x", "e=pv;p=web",              // ';' separators
		"e=pv&p=web&tv=t&x=%", "e=pv&p=web&tv=t&x=%4", "e=pv&%=1",
		"=x&e=pv&p=web&tv=t", "e=pv&p=web&tv=t&a&a=1&a=2",
		"e=pv&p=web&tv=t&" + strings.Repeat("k", 40) + "=1&" + strings.Repeat("a=1&", 50) + "ue_px=e30&cx=e30",
		"e=ue&p=web&tv=t&ue_px=%2F%2F%2F&ue_px=e30", "e=ue&p=web&tv=t&ue_pr=%7B%7D",
		"e=pv&p=web&tv=t&page=%E2%80%A8", "e=pv&p=web&tv=t&page=%22%5C",
		many, many + "&y=2", // 10,002 parameters, then more
		most, most + "&", most[:len(most)-1], "&" + most, strings.Repeat("&", 9999), strings.Repeat("&", 10000),
		// Names and values around the eight bytes readQuery reads at a time.
		"e=pv&p=web&tv=t&abcdefg=12345678&abcdefgh=1234567&x=&=&&y",
		"e=pv&p=web&tv=t&a+b=c+d%2B&q=%22&b%5C=1&k=v=w&t=%09x\"y\\z",
		"e=pv&p=web&tv=t&u=\x7f\x1f\x80\xe2\x80\xa8&v=\xff",
		// ue_px and cx: escaped base64, none, empty, repeated.
		"e=ue&p=web&tv=t&ue_px=eyJzY2hlbWEiOiJ4In0%3D&cx=e30%41&ue_px=e30",
		"e=ue&p=web&tv=t&ue_px&cx=&cx=e30", "e=ue&p=web&tv=t&ue_px=e30&cx=e%3",
		// Known names repeated; other names before, between and after
		// them, sharing their prefixes, or escaped into them.
		"e=pv&p=web&tv=t&aid=1&aid=2&tz=x&tz=&res=1&e=se&url=u&url=v",
		"e=pv&p=web&tv=t&a=1&aid=2&aida=3&ai=4&aid%00=5&ai%64=6&zz=7&0=8&tz=9&tzz=10&t=11",
		"e=pv&p=web&tv=t&url=u&urla=1&ur=2&page=p&pag=3&pagee=4&refr=r&ref=5&refrr=6&cookie=1&cookies=2&cooki=3",
		"e=pv&p=web&tv=t&f_director=1&f_dir=2&f_realp=3&f_real=4&f_java=5&useragent=6&ua=7&uaa=8&ue_pr=9&ue_p=10",
		"e=se&p=web&tv=t&se_ca=c&se_ac=a&se_la=l&se_lab=x&se_c=y&pp_mix=1&tr_id=2&ti_id=3&ti_id=4&tr_ida=5&co=6&cx=e30&cxx=7",
		"e=pv&p=web&tv=t&%C3%A9=1&\xff=2&%FF=3&Aid=4&AID=5&aId=6&aid=7",
		// Escapes at each place of the eight bytes appendUnescaped copies
		// at once, and a bad one after them.
		"e=pv&p=web&tv=t&u=abcdefgh%41bcdefg+hijklmnop%2B&v=+abcdefgh%41%42abcdefg%2B&w=abcdefghijklmnopqrstuvwx%2",
		"e=pv&p=web&tv=t&u=abcdefghijklmnop%4",
		"e=pv&p=web&tv=t&u=a%2Fbc+def%3Dghijklm+nopqrs%25tuvwxyzABCDEFGH+&a%2Bbcdefghij=1",
	} {
		sameDecoding(t, raw)
	}
	// Beyond maxDedupScan parameters, the names seen are kept in a map.
	var b strings.Builder
	b.WriteString("e=pv&p=web&tv=t")
	for i := range 100 {
		b.WriteString("&n" + strings.Repeat("z", i%7) + string(rune('a'+i%26)) + "=" + string(rune('A'+i%26)))
	}
	sameDecoding(t, b.String())
	// The queries of TestDecodeGolden: the real Go tracker's, the fuzz
	// seeds of FuzzDecodeQuery.
	for _, c := range decodeCorpus(t) {
		if c.kind == "query" {
			sameDecoding(t, c.input)
		}
	}
}

// TestQueryBuffersBounded holds the buffers GET /i sizes from a query to a
// small multiple of its length, whatever its shape: the scratch it is
// read in, and the one allocation its event keeps (its text, payloads,
// attributes and data). net/http bounds the query's length.
func TestQueryBuffersBounded(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	long := strings.Repeat("x", 3000)
	var distinct, known strings.Builder
	distinct.WriteString("e=pv&p=web&tv=t")
	for c := byte('!'); c <= '~'; c++ {
		if c != '&' && c != '=' && c != '%' && c != '+' && c != ';' {
			distinct.WriteString("&" + string(c))
		}
	}
	for _, m := range Mapping() {
		known.WriteString(m.Param + "=" + url.QueryEscape(`"v"`) + "&")
	}
	for _, name := range paramNames {
		known.WriteString(name + "=12&")
	}
	for _, raw := range []string{
		"e", "&", "=", "e=pv&p=web&tv=t",
		benchEvent().query().Encode(),
		distinct.String(), // names of one byte, without values
		known.String(),    // every name the decoder knows
		strings.Repeat("&", 9990) + "e=pv",
		strings.Repeat("ab=&", 2000),
		"e=pv&p=web&tv=t&url=" + long + "&page=" + long + "&refr=" + long, // data and attributes
		"e=pv&p=web&tv=t&page=" + strings.Repeat("%22%5C%01", 1000),       // escaped in JSON
		"e=" + strings.Repeat("%41", 1000) + "&" + strings.Repeat("%42", 1000) + "=" + strings.Repeat("%43", 1000),
		"e=ue&p=web&tv=t&ue_px=" + enc([]byte(`{"schema":"`+unstructSchema+`","data":{"schema":"iglu:a/b/jsonschema/1-0-0","data":"`+long+`"}}`)) +
			"&cx=" + enc([]byte(`{"schema":"`+contextsPrefix+`1","data":[{"schema":"iglu:a/b/jsonschema/1-0-0","data":"`+long+`"}]}`)),
		// Padded, escaped, of the standard alphabet: decoded after.
		"e=pv&p=web&tv=t&ue_px=" + url.QueryEscape(base64.URLEncoding.EncodeToString([]byte(long+"y"))) +
			"&cx=" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\xfb\xff", 1000))),
	} {
		n := len(raw)
		d := decoder{}
		sc := d.takeScratch()
		var room queryRoom
		textLen, ok := d.readQuery(raw, &room)
		if !ok {
			t.Fatalf("query of %d bytes not read", n)
		}
		payloads, attrs := room.keepSize(&d)
		keep := textLen + len(d.payloads) + payloads + attrs
		scratch := len(d.queryScratch(n))
		if scratch > 3*n+17 {
			t.Errorf("query of %d bytes (%.40q...): a scratch of %d bytes, more than 3n+17", n, raw, scratch)
		}
		if keep > 7*n+1024 {
			t.Errorf("query of %d bytes (%.40q...): %d bytes kept, more than 7n+1024", n, raw, keep)
		}
		t.Logf("%6d bytes: scratch %6d, kept %6d (text %d, payloads %d+%d, attributes %d)", n, scratch, keep, textLen, len(d.payloads), payloads, attrs)
		d.giveScratch(sc)
	}
	// A scratch that grew for a long query is not kept in the pool.
	d := decoder{}
	sc := d.takeScratch()
	d.queryScratch(maxPooledQuery)
	d.giveScratch(sc)
	if sc.query != nil {
		t.Errorf("a scratch of %d bytes went back to the pool", cap(sc.query))
	}
}

// TestDecodeGETQueryAllocs holds an event of each type, as trackers send
// them by GET, to one allocation (its contexts a second): the room made
// for its attributes and data is enough.
func TestDecodeGETQueryAllocs(t *testing.T) {
	if racedetector.Enabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	page := []string{"url", "https://shop.example.com/products?id=7&q=ü", "page", `Product 7 — "best"`, "refr", "https://search.example/?q=shoes",
		"ua", "Mozilla/5.0 (X11; Linux x86_64) \"quoted\"", "uid", "user-é", "tz", "Europe/London", "aid", "shop"}
	for _, c := range []struct {
		name   string
		event  fields
		allocs float64
	}{
		{"page view", ev("pv", page...), 1},
		{"page ping", ev("pp", append(page, "pp_mix", "0", "pp_max", "+250", "pp_miy", "007", "pp_may", "12")...), 1},
		{"structured", ev("se", append(page, "se_ca", "shop", "se_ac", "add", "se_la", "red shoes", "se_pr", "size 42", "se_va", "12.50")...), 1},
		{"transaction", ev("tr", append(page, "tr_id", "o1", "tr_af", "web", "tr_tt", "99.90", "tr_tx", "1", "tr_sh", "4.95", "tr_ci", "London", "tr_st", "England", "tr_co", "GB", "tr_cu", "GBP")...), 1},
		{"transaction item", ev("ti", append(page, "ti_id", "o1", "ti_sk", "sku", "ti_nm", "Red shoes", "ti_ca", "shoes", "ti_pr", "39.95", "ti_qu", "2", "ti_cu", "GBP")...), 1},
		{"self-describing", ev("ue", append(page, "ue_px", enc(checkoutUE))...), 1},
		{"with contexts", benchEvent(), 2},
		{"page view with contexts", ev("pv", append(page, "cx", enc(userContexts), "nuid", "n1", "tnuid", "n2")...), 2},
	} {
		raw := c.event.query().Encode()
		in, err := DecodeGETQuery(raw)
		if err != nil || in.Failure != nil {
			t.Fatalf("%s: %v %+v", c.name, err, in.Failure)
		}
		// A scratch the pool dropped (a garbage collection) is a few
		// allocations once in 100 runs; one more a run is a buffer that grew.
		if n := testing.AllocsPerRun(100, func() { DecodeGETQuery(raw) }); n > c.allocs+0.5 {
			t.Errorf("%s: %v allocations, want %v", c.name, n, c.allocs)
		}
	}
}

// FuzzDecodeQueryText holds DecodeQueryText to what url.ParseQuery and
// DecodeRawQuery together return, for any raw query. The seed corpus is in
// testdata/fuzz/FuzzDecodeQueryText.
func FuzzDecodeQueryText(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		sameDecoding(t, raw)
	})
}
