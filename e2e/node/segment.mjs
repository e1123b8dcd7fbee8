// Sends every Segment call (track, identify, page, screen, group and alias)
// to the collector with Segment's Node.js library (@segment/analytics-node),
// which batches them to POST /v1/batch with the write key as HTTP Basic
// user. Each message has a fixed messageId and timestamp.
//
// Usage: ACCORD_URL=http://127.0.0.1:8080 SEGMENT_WRITE_KEY=key node segment.mjs
//
// It prints {"messages": [{"call", "messageId"}, ...], "requests": [{"status",
// "messages"}, ...]}: what it sent, and each HTTP request the library made
// with its status and how many messages it carried. It exits 1 if any
// call's callback reported an error or a request was not answered 2xx.
import { Analytics } from "@segment/analytics-node";
import { collectorURL, main } from "./run.mjs";

// timestamp is when every message happened, as the app says.
const timestamp = new Date(Date.UTC(2026, 10, 25, 9, 15, 0, 250));

main(async () => {
  const writeKey = process.env.SEGMENT_WRITE_KEY || process.argv[3];
  if (!writeKey) {
    throw new Error("no write key: set SEGMENT_WRITE_KEY or pass it as the second argument");
  }
  const analytics = new Analytics({
    writeKey,
    host: collectorURL(),
    path: "/v1/batch",
    // Every message goes in one batch, sent by closeAndFlush.
    flushAt: 20,
    flushInterval: 60_000,
    maxRetries: 0,
  });
  const requests = [];
  const errors = [];
  analytics.on("http_response", (res) => {
    requests.push({ status: res.status, messages: JSON.parse(res.body).batch.length });
  });
  analytics.on("error", (err) => errors.push(String(err?.reason ?? err?.code ?? err)));

  const messages = [];
  const send = (call, params) => {
    messages.push({ call, messageId: params.messageId });
    analytics[call]({ timestamp, ...params }, (err) => {
      if (err) errors.push(`${call} ${params.messageId}: ${err.reason ?? err.message ?? err}`);
    });
  };

  send("identify", {
    messageId: "seg-identify-1",
    userId: "user-7",
    anonymousId: "anon-7",
    traits: { email: "ada@example.com", plan: "pro" },
  });
  send("track", {
    messageId: "seg-track-1",
    userId: "user-7",
    event: "Order Completed",
    properties: { order_id: "ord-seg-1", total: 42.5, currency: "EUR" },
    context: { ip: "203.0.113.7", locale: "fr-FR" },
  });
  send("track", {
    messageId: "seg-track-invalid",
    userId: "user-7",
    event: "Order Completed",
    properties: { order_id: "ord-seg-2", total: "lots", currency: "EUR" },
  });
  send("track", {
    messageId: "seg-track-unplanned",
    anonymousId: "anon-7",
    event: "Coupon Applied",
    properties: { coupon: "WINTER" },
  });
  send("page", {
    messageId: "seg-page-1",
    anonymousId: "anon-7",
    category: "Docs",
    name: "Pricing",
    properties: { url: "https://shop.example/pricing", title: "Pricing" },
  });
  send("screen", {
    messageId: "seg-screen-1",
    userId: "user-7",
    name: "Home",
    properties: { variant: "b" },
  });
  send("group", {
    messageId: "seg-group-1",
    userId: "user-7",
    groupId: "acct-9",
    traits: { name: "Acme", employees: 12 },
  });
  send("alias", {
    messageId: "seg-alias-1",
    userId: "user-7",
    previousId: "anon-7",
  });

  await analytics.closeAndFlush({ timeout: 20_000 });

  const bad = requests.filter((r) => r.status < 200 || r.status > 299);
  if (errors.length > 0 || bad.length > 0 || requests.length === 0) {
    throw new Error(`sending failed: errors ${JSON.stringify(errors)}, requests ${JSON.stringify(requests)}`);
  }
  return { messages, requests };
});
