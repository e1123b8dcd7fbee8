// The page script of segment.html: Segment's analytics-next, loaded with its
// settings given inline (cdnSettings) so that it fetches nothing, sending to
// the collector's Segment routes (apiHost=HOST:PORT/v1 in the query string).
// It sends identify, track and page and records their message ids in
// window.accord.
import { AnalyticsBrowser } from "@segment/analytics-next";

const params = new URLSearchParams(location.search);
const writeKey = params.get("writeKey");
const apiHost = params.get("apiHost");
const state = { ids: {}, done: false, error: null };
window.accord = state;

const run = async () => {
  const [analytics] = await AnalyticsBrowser.load({
    writeKey,
    cdnSettings: { integrations: { "Segment.io": { apiKey: writeKey, apiHost, protocol: "http" } }, remotePlugins: [] },
  });
  const identify = await analytics.identify("user-42", { plan: "pro", email: "ada@example.com" });
  state.ids.identify = identify.event.messageId;
  const track = await analytics.track("Order Completed", { order_id: "ord-1", total: 25.5, currency: "EUR" });
  state.ids.track = track.event.messageId;
  const page = await analytics.page("Shop", "Product", { path: "/products/42" });
  state.ids.page = page.event.messageId;
};
run().then(
  () => (state.done = true),
  (e) => (state.error = String(e && e.stack ? e.stack : e)),
);
