// Sends CloudEvents to the collector's POST /cloudevents with the CloudEvents
// JavaScript SDK (cloudevents): one in binary mode and one in structured
// mode, each through the SDK's emitter (emitterFor) and HTTP binding, and a
// batch of three (the last breaking its contract), serialised by the SDK's
// CloudEvent.toJSON. The SDK's own httpTransport does not report the
// response status, so the emitter's transport here is fetch, which does.
//
// Usage: ACCORD_URL=http://127.0.0.1:8080 node cloudevents.mjs
//
// It prints {"events": [{"mode", "id"}, ...], "responses": [{"mode",
// "status", "body"}, ...]} and exits 1 if any request was not answered 2xx.
import { CloudEvent, CONSTANTS, HTTP, Mode, emitterFor } from "cloudevents";
import { collectorURL, main } from "./run.mjs";

const checkoutKey = "iglu:com.example/checkout_completed/jsonschema/1-0-0";

// checkout returns a checkout_completed CloudEvent with a fixed id and time.
function checkout(id, orderId, total, extra = {}) {
  return new CloudEvent({
    id,
    source: "https://shop.example/checkout",
    type: "com.example.checkout.completed",
    subject: `order/${orderId}`,
    time: "2026-11-25T08:30:00.000Z",
    dataschema: checkoutKey,
    datacontenttype: "application/json",
    tenant: "acme",
    priority: 3,
    data: { order_id: orderId, total, currency: "EUR", items: [{ sku: "sku-1", quantity: 1, price: total }] },
    ...extra,
  });
}

main(async () => {
  const url = `${collectorURL()}/cloudevents`;
  const responses = [];
  const events = [];

  // post sends one HTTP message (headers and body as the binding made
  // them) and records the answer; a non-2xx answer is an error.
  const post = async (mode, message) => {
    const res = await fetch(url, { method: "POST", headers: message.headers, body: message.body });
    const body = await res.text();
    responses.push({ mode, status: res.status, body: body ? JSON.parse(body) : null });
    if (!res.ok) {
      throw new Error(`${mode}: the collector answered ${res.status}: ${body}`);
    }
    return res;
  };
  const transport = (mode) => (message) => post(mode, message);

  const binary = checkout("ce-node-binary-1", "ord-ce-b", 10);
  await emitterFor(transport("binary"), { binding: HTTP, mode: Mode.BINARY })(binary);
  events.push({ mode: "binary", id: binary.id });

  const structured = checkout("ce-node-structured-1", "ord-ce-s", 20);
  await emitterFor(transport("structured"), { binding: HTTP, mode: Mode.STRUCTURED })(structured);
  events.push({ mode: "structured", id: structured.id });

  // The SDK reads batches (HTTP.toEvent) but has no serializer for them:
  // a batch is a JSON array of the events' JSON form.
  // Its last event breaks its contract (a negative total): the collector
  // takes the batch and stores that event as failed.
  const batch = [
    checkout("ce-node-batch-1", "ord-ce-1", 30),
    checkout("ce-node-batch-2", "ord-ce-2", 40, { tenant: "globex" }),
    checkout("ce-node-batch-invalid", "ord-ce-x", -5),
  ];
  await post("batch", {
    headers: { "content-type": `${CONSTANTS.MIME_CE_BATCH}; charset=utf-8` },
    body: JSON.stringify(batch.map((e) => e.toJSON())),
  });
  for (const e of batch) events.push({ mode: "batch", id: e.id });

  return { events, responses };
});
