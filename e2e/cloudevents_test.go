package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/accord-events/accord/internal/event/eventtest"
)

func newCloudEvent(t *testing.T, id string, data map[string]any) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("https://shop.example/checkout")
	e.SetType("com.example.checkout.completed")
	e.SetSubject("order/" + id)
	e.SetTime(time.Date(2026, 11, 25, 8, 30, 0, 0, time.UTC))
	e.SetDataSchema(checkoutKey)
	e.SetExtension("tenant", "acme")
	e.SetExtension("priority", 3)
	if err := e.SetData(cloudevents.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	return e
}

func checkoutData(orderID string, total float64) map[string]any {
	return map[string]any{"order_id": orderID, "total": total, "currency": "EUR", "items": []map[string]any{{"sku": "sku-1", "quantity": 1}}}
}

// sendStatus sends e with the SDK and returns the HTTP status it got.
func sendStatus(t *testing.T, client cloudevents.Client, ctx context.Context, e cloudevents.Event) int {
	t.Helper()
	res := client.Send(ctx, e)
	var httpResult *cehttp.Result
	if !errors.As(res, &httpResult) {
		t.Fatalf("send %s: %v", e.ID(), res)
	}
	return httpResult.StatusCode
}

func TestCloudEventsEndToEnd(t *testing.T) {
	dir := newProject(t)
	c := startCollector(t, dir, "ACCORD_SINKS_1_NAME=files", "ACCORD_SINKS_1_TYPE=file")

	client, err := cloudevents.NewClientHTTP(cehttp.WithTarget(c.URL + "/cloudevents"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Binary mode (the SDK's default) and structured mode, both valid.
	if s := sendStatus(t, client, ctx, newCloudEvent(t, "ce-binary-1", checkoutData("ord-b", 10))); s != http.StatusOK {
		t.Fatalf("binary mode: %d", s)
	}
	if s := sendStatus(t, client, binding.WithForceStructured(ctx), newCloudEvent(t, "ce-structured-1", checkoutData("ord-s", 20))); s != http.StatusOK {
		t.Fatalf("structured mode: %d", s)
	}
	// A CloudEvent whose data breaks its contract is accepted (200) and stored as failed.
	if s := sendStatus(t, client, ctx, newCloudEvent(t, "ce-invalid-1", checkoutData("ord-x", -1))); s != http.StatusOK {
		t.Fatalf("invalid data: %d", s)
	}

	// Batch mode, with one event lacking its required source.
	batch := `[{"specversion":"1.0","id":"ce-batch-1","source":"/batch","type":"com.example.page","dataschema":"` + pageViewKey + `","data":{"url":"https://shop.example/1"}},` +
		`{"specversion":"1.0","id":"ce-batch-2","type":"com.example.page","dataschema":"` + pageViewKey + `","data":{"url":"https://shop.example/2"}}]`
	status, _, body := c.post("/cloudevents", "application/cloudevents-batch+json", []byte(batch))
	r := decodeInto[collectResponse](t, body)
	if status != http.StatusOK || r.Received != 2 || r.Good != 1 || r.Failed != 1 || r.Failures[0].Index != 1 || r.Failures[0].Type != "protocol_violation" {
		t.Fatalf("batch: %d %s", status, body)
	}

	c.stop()

	for _, l := range append(readNDJSON(t, filepath.Join(dir, "accord-data", "good.ndjson")), readNDJSON(t, filepath.Join(dir, "accord-data", "failed.ndjson"))...) {
		eventtest.CheckJSON(t, l)
	}

	db := openStore(t, dir)
	for _, id := range []string{"ce-binary-1", "ce-structured-1"} {
		var protocol, schema, createdAt, payload, attributes string
		if err := db.QueryRow(`SELECT protocol, schema, created_at, payload, attributes FROM events WHERE event_id = ?`, id).Scan(&protocol, &schema, &createdAt, &payload, &attributes); err != nil {
			t.Fatalf("%s not stored as good: %v", id, err)
		}
		if protocol != "cloudevents" || schema != checkoutKey || createdAt != "2026-11-25T08:30:00.000000Z" {
			t.Errorf("%s: protocol %s schema %s created_at %s", id, protocol, schema, createdAt)
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(payload), &data); err != nil || data["currency"] != "EUR" {
			t.Errorf("%s: payload %s", id, payload)
		}
		var attrs map[string]any
		if err := json.Unmarshal([]byte(attributes), &attrs); err != nil {
			t.Fatalf("%s: attributes %s", id, attributes)
		}
		want := map[string]any{"id": id, "source": "https://shop.example/checkout", "type": "com.example.checkout.completed", "specversion": "1.0",
			"subject": "order/" + id, "dataschema": checkoutKey, "tenant": "acme"}
		for k, v := range want {
			if attrs[k] != v {
				t.Errorf("%s: attribute %s = %v, want %v (all: %s)", id, k, attrs[k], v, attributes)
			}
		}
		if p, ok := attrs["priority"]; !ok || (p != float64(3) && p != "3") {
			t.Errorf("%s: extension priority = %v", id, p)
		}
	}
	var failureType string
	if err := db.QueryRow(`SELECT failure_type FROM failed_events WHERE event_id = 'ce-invalid-1'`).Scan(&failureType); err != nil || failureType != "schema_violation" {
		t.Errorf("invalid CloudEvent: %q %v", failureType, err)
	}
	var raw string
	if err := db.QueryRow(`SELECT failure_type, raw FROM failed_events WHERE event_id = 'ce-batch-2'`).Scan(&failureType, &raw); err != nil || failureType != "protocol_violation" || !contains(raw, `"id":"ce-batch-2"`) {
		t.Errorf("batch event without source: %q %q %v", failureType, raw, err)
	}
}
