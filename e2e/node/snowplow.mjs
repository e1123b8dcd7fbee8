// Sends Snowplow events to the collector with Snowplow's Node.js tracker
// (@snowplow/node-tracker): over POST (tp2 payload_data, one batch, base64
// encoded self-describing JSON) a page view, a structured event, a
// self-describing event with a context, an ecommerce transaction with an
// item and a self-describing event that breaks its contract; over GET (/i,
// plain JSON) a page view and a self-describing event with a context.
//
// Usage: ACCORD_URL=http://127.0.0.1:8080 node snowplow.mjs
//
// It prints {"events": [{"name", "tracker", "eid"}, ...], "requests": n}:
// the event id the tracker gave each event, for the test to look up. It
// exits 1 if the collector refused any request or did not take every event.
import {
  newTracker,
  buildPageView,
  buildStructEvent,
  buildSelfDescribingEvent,
  buildEcommerceTransaction,
  buildEcommerceTransactionItem,
} from "@snowplow/node-tracker";
import { collectorURL, main } from "./run.mjs";

// created is the device timestamp (dtm) of every event.
const created = Date.UTC(2026, 10, 25, 8, 30, 0, 123);

const userContext = [{ schema: "iglu:com.example/user/jsonschema/1-0-0", data: { id: "user-42", plan: "pro" } }];

main(async () => {
  const url = collectorURL();
  const acked = new Set();
  const failures = [];
  let requests = 0;
  const emitter = (eventMethod) => ({
    endpoint: url,
    eventMethod,
    bufferSize: 10,
    retryFailedRequests: false,
    onRequestSuccess: (batch) => {
      requests++;
      for (const p of batch) acked.add(p.eid);
    },
    onRequestFailure: (failure, response) => {
      requests++;
      failures.push({ status: failure.status ?? response?.status, message: failure.message, events: failure.events.map((p) => p.eid) });
    },
  });

  const post = newTracker({ namespace: "shop-post", appId: "accord-e2e" }, emitter("post"));
  post.setUserId("user-42");
  post.setDomainUserId("duid-42");
  post.setNetworkUserId("5f0a2d3e-8c1b-4e9a-9d4f-2b6c8e1a7f30");
  post.setSessionId("0c7d3f5a-1e2b-4c6d-8f9a-0b1c2d3e4f50");
  post.setSessionIndex(3);

  const get = newTracker({ namespace: "shop-get", appId: "accord-e2e", encodeBase64: false }, emitter("get"));
  get.setUserId("user-43");

  const events = [];
  const track = (tracker, trackerName, name, pb, context) => {
    const payload = tracker.track(pb, context, created);
    if (!payload || !payload.eid) {
      throw new Error(`the tracker returned no payload with an eid for ${name}`);
    }
    events.push({ name, tracker: trackerName, eid: payload.eid });
  };

  track(post, "post", "page_view", buildPageView({
    pageUrl: "https://shop.example/products/42",
    pageTitle: "Product 42",
    referrer: "https://search.example/?q=shirt",
  }));
  track(post, "post", "structured_event", buildStructEvent({
    category: "basket",
    action: "add",
    label: "sku-42",
    property: "size-m",
    value: 12.5,
  }));
  track(post, "post", "checkout_completed", buildSelfDescribingEvent({
    event: {
      schema: "iglu:com.example/checkout_completed/jsonschema/1-0-0",
      data: { order_id: "ord-sp-1", total: 25.5, currency: "EUR", items: [{ sku: "sku-42", quantity: 2, price: 12.75 }] },
    },
  }), userContext);
  track(post, "post", "transaction", buildEcommerceTransaction({
    orderId: "ord-sp-1",
    total: 25.5,
    affiliation: "web-shop",
    tax: 4.25,
    shipping: 0,
    city: "Lyon",
    state: "Rhone",
    country: "FR",
    currency: "EUR",
  }));
  track(post, "post", "transaction_item", buildEcommerceTransactionItem({
    orderId: "ord-sp-1",
    sku: "sku-42",
    name: "T-shirt",
    category: "apparel",
    price: 12.75,
    quantity: 2,
    currency: "EUR",
  }));
  track(post, "post", "checkout_invalid", buildSelfDescribingEvent({
    event: {
      schema: "iglu:com.example/checkout_completed/jsonschema/1-0-0",
      data: { order_id: "ord-sp-2", total: -1, currency: "EUR", items: [{ sku: "sku-1", quantity: 1 }] },
    },
  }));

  track(get, "get", "page_view_get", buildPageView({ pageUrl: "https://shop.example/basket", pageTitle: "Basket" }));
  track(get, "get", "checkout_completed_get", buildSelfDescribingEvent({
    event: {
      schema: "iglu:com.example/checkout_completed/jsonschema/1-0-0",
      data: { order_id: "ord-sp-3", total: 9, currency: "USD", items: [{ sku: "sku-3", quantity: 1 }] },
    },
  }), userContext);

  // tracker.track hands each event to its emitters without waiting for it
  // to be queued, so a flush right after it can miss the last events: flush
  // until every event was answered (or a request failed), a few times at most.
  for (let i = 0; i < 20 && failures.length === 0 && events.some((e) => !acked.has(e.eid)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    await Promise.all([post.flush(), get.flush()]);
  }

  if (failures.length > 0) {
    throw new Error(`the collector refused requests: ${JSON.stringify(failures)}`);
  }
  const missing = events.filter((e) => !acked.has(e.eid));
  if (missing.length > 0) {
    throw new Error(`the tracker did not get a 2xx for: ${JSON.stringify(missing)}`);
  }
  return { events, requests };
});
