package columns_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/columns"
)

func records() map[string]*event.Envelope {
	at := time.Date(2026, 12, 4, 10, 11, 12, 123456000, time.UTC)
	good := &event.Envelope{
		EventID: "e1", RequestID: "r1", CollectedAt: event.Time{Time: at}, EventTime: event.Time{Time: at.Add(-time.Second)},
		Protocol: "selfdesc", Schema: "iglu:com.acme/x/jsonschema/1-0-0", Vendor: "com.acme", Name: "x", Version: "1-0-0", Namespace: "default",
		Valid: true, Payload: json.RawMessage(`{"a":"b \"q\""}`),
		Contexts:  []event.Context{{Schema: "iglu:com.acme/c/jsonschema/1-0-0", Data: json.RawMessage(`{"id":1}`)}},
		Source:    event.Source{IP: "192.0.2.1", UserAgent: "agent\t\"x\""},
		Identity:  event.Identity{UserID: "u"},
		Collector: event.Collector{Name: "accord", Version: "v1"},
		// A time in another zone is stored as UTC.
		ReplayedAt:  event.Time{Time: at.In(time.FixedZone("x", 3600))},
		Fingerprint: "f",
	}
	failed := &event.Envelope{
		EventID: "e2", CollectedAt: event.Time{Time: at}, Protocol: "cloudevents",
		Failure:   event.NewFailure(event.SchemaViolation, "n must be a number"),
		Collector: event.Collector{Name: "accord"},
	}
	failed.SetRaw([]byte("not \xff text"))
	return map[string]*event.Envelope{
		"good":   good,
		"failed": failed,
		// No id, no raw input, nothing optional.
		"empty": {},
	}
}

// Every column that holds an envelope member holds what the envelope's
// JSON says, NULL where the JSON has null, leaves the member out, or (for a
// nullable text column) has an empty string; so a row read back through the
// members is the record.
func TestColumnsHoldTheEnvelopeMembers(t *testing.T) {
	for name, rec := range records() {
		t.Run(name, func(t *testing.T) {
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(rec.AppendJSON(nil), &doc); err != nil {
				t.Fatal(err)
			}
			cols := columns.Failed()
			values, _ := columns.Append(nil, nil, cols, rec)
			if len(values) != len(cols) {
				t.Fatalf("%d values for %d columns", len(values), len(cols))
			}
			for i, c := range cols {
				v := values[i]
				if v.Null && !c.Nullable {
					t.Errorf("%s is NULL but not nullable", c.Name)
				}
				if c.Member == "" {
					continue
				}
				want, ok := doc[c.Member]
				if !ok || string(want) == "null" || (c.Type == columns.Text && c.Nullable && string(want) == `""`) {
					want = json.RawMessage("null")
				}
				if got := asJSON(t, c, v); !bytes.Equal(got, want) {
					t.Errorf("%s = %s, want %s", c.Name, got, want)
				}
			}
		})
	}
}

// asJSON writes a value as the envelope's JSON would hold it.
func asJSON(t *testing.T, c columns.Column, v columns.Value) []byte {
	t.Helper()
	if v.Null {
		return []byte("null")
	}
	switch c.Type {
	case columns.Text:
		b, _ := json.Marshal(v.Text)
		return b
	case columns.Bool:
		return strconv.AppendBool(nil, v.Bool)
	case columns.Time:
		return []byte(strconv.Quote(v.Time.Format(event.TimeLayout)))
	case columns.JSON:
		var b bytes.Buffer
		if err := json.Compact(&b, v.JSON); err != nil {
			t.Fatalf("%s is not JSON: %v", c.Name, err)
		}
		return b.Bytes()
	}
	t.Fatalf("%s has type %v", c.Name, c.Type)
	return nil
}

// Every member an envelope can have is a column of the failed table, so no
// field is lost on the way into a table; the good table is the same less
// the failure and the original input.
func TestEveryMemberHasAColumn(t *testing.T) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(records()["failed"].AppendJSON(nil), &doc); err != nil {
		t.Fatal(err)
	}
	doc["replayed_at"] = nil // left out when zero
	var members []string
	for _, c := range columns.Failed() {
		if c.Member != "" {
			members = append(members, c.Member)
		}
	}
	for m := range doc {
		if !slices.Contains(members, m) {
			t.Errorf("envelope member %s has no column", m)
		}
	}
	good, failed := columns.Good(), columns.Failed()
	if !slices.EqualFunc(good, failed[:len(good)], func(a, b columns.Column) bool { return a.Name == b.Name }) {
		t.Error("the failed table's columns do not start with the good table's")
	}
	for _, c := range failed[len(good):] {
		if !c.Nullable {
			t.Errorf("failed-only column %s is not nullable", c.Name)
		}
	}
	if good[0].Name != columns.Key {
		t.Errorf("first column is %s, want the key %s", good[0].Name, columns.Key)
	}
}

// JSON values encoded into the buffer stay right when the buffer grows
// under them, as a store binds them only once a whole chunk is encoded.
func TestValuesSurviveTheBufferGrowing(t *testing.T) {
	rec := records()["good"]
	cols := columns.Good()
	var values []columns.Value
	var buf []byte
	for range 50 {
		values, buf = columns.Append(values, buf, cols, rec)
	}
	for i, v := range values {
		c := cols[i%len(cols)]
		if c.Name == "source" && string(v.JSON) != string(rec.Source.AppendJSON(nil)) {
			t.Fatalf("value %d of source = %s", i, v.JSON)
		}
	}
}
