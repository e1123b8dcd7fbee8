// The page script of snowplow.html: Snowplow's browser tracker in its
// default configuration plus its common plugins (link click, form, error,
// site tracking, snowplow ecommerce, consent, media), sending to the collector
// named in the page's query string (collector=URL) with the method in
// mode= (post, get, or keepalive: POST with fetch keepalive, which
// replaced the beacon method in tracker 4). Every event the tracker builds
// is recorded in window.accord, with what the collector acknowledged, for
// drive.mjs to wait on and report.
import {
  newTracker,
  trackPageView,
  trackStructEvent,
  trackSelfDescribingEvent,
} from "@snowplow/browser-tracker";
import { LinkClickTrackingPlugin, enableLinkClickTracking } from "@snowplow/browser-plugin-link-click-tracking";
import { FormTrackingPlugin, enableFormTracking } from "@snowplow/browser-plugin-form-tracking";
import { ErrorTrackingPlugin, enableErrorTracking, trackError } from "@snowplow/browser-plugin-error-tracking";
import { SiteTrackingPlugin, trackSiteSearch, trackTiming, trackSocialInteraction } from "@snowplow/browser-plugin-site-tracking";
import {
  SnowplowEcommercePlugin,
  setPageType,
  trackProductView,
  trackAddToCart,
  trackTransaction,
} from "@snowplow/browser-plugin-snowplow-ecommerce";
import { ConsentPlugin, enableGdprContext, trackConsentGranted, trackConsentWithdrawn } from "@snowplow/browser-plugin-consent";
import {
  SnowplowMediaPlugin,
  startMediaTracking,
  endMediaTracking,
  trackMediaReady,
  trackMediaPlay,
  trackMediaVolumeChange,
  trackMediaAdBreakStart,
  trackMediaAdStart,
  trackMediaAdFirstQuartile,
  trackMediaAdComplete,
  trackMediaAdBreakEnd,
  trackMediaQualityChange,
  trackMediaPause,
  trackMediaEnd,
} from "@snowplow/browser-plugin-media";

const params = new URLSearchParams(location.search);
const collector = params.get("collector");
const mode = params.get("mode") || "post";
const state = { mode, tracked: [], acked: [], failures: [], errors: [] };
window.accord = state;

// recorder is a plugin of our own that notes each event the tracker built.
const recorder = { afterTrack: (payload) => state.tracked.push({ eid: payload.eid, e: payload.e }) };

const config = {
  appId: "accord-browser-e2e",
  eventMethod: mode === "get" ? "get" : "post",
  plugins: [recorder, LinkClickTrackingPlugin(), FormTrackingPlugin(), ErrorTrackingPlugin(), SiteTrackingPlugin(), SnowplowEcommercePlugin(), ConsentPlugin(), SnowplowMediaPlugin()],
  onRequestSuccess: (payloads) => {
    for (const p of payloads) state.acked.push(p.eid);
  },
  onRequestFailure: (failure) => {
    state.failures.push({ status: failure.status, message: failure.message, events: (failure.events || []).map((p) => p.eid) });
  },
};
if (mode === "keepalive") config.keepalive = true;
if (mode === "get") {
  // The GET page also switches on the optional built-in entities.
  config.contexts = { session: true, browser: true };
  config.appVersion = "2.4.1";
}
newTracker("sp", collector, config);

trackPageView();
enableLinkClickTracking({ trackContent: true });
enableFormTracking();
enableErrorTracking();

// scenario sends what a shop's page sends by code; drive.mjs calls it after
// the clicks and form input a user makes.
window.accordScenario = () => {
  trackStructEvent({ category: "basket", action: "add", label: "sku-42", property: "size-m", value: 12.5 });
  trackSelfDescribingEvent({
    event: {
      schema: "iglu:com.example/checkout_completed/jsonschema/1-0-0",
      data: { order_id: "ord-" + mode, total: 25.5, currency: "EUR", items: [{ sku: "sku-42", quantity: 2, price: 12.75 }] },
    },
  });
  trackSiteSearch({ terms: ["blue", "shoes"], filters: { size: "42", in_stock: true }, totalResults: 128, pageResults: 20 });
  trackTiming({ category: "load", variable: "map_loaded", timing: 1250, label: "Map" });
  trackSocialInteraction({ action: "like", network: "facebook", target: "post-42" });
  trackError({ message: "checkout failed", filename: "shop.js", lineno: 12, colno: 5, error: new Error("checkout failed") });
  setPageType({ type: "product", language: "en-GB", locale: "en-GB" });
  const product = { id: "sku-42", name: "Shirt", category: "apparel/shirts", price: 12.75, currency: "EUR", quantity: 2, brand: "Acme" };
  trackProductView(product);
  trackAddToCart({ products: [product], total_value: 25.5, currency: "EUR", cart_id: "cart-7" });
  trackTransaction({ transaction_id: "ord-" + mode, revenue: 25.5, currency: "EUR", payment_method: "card", total_quantity: 2, products: [product] });
  enableGdprContext({ basisForProcessing: "consent", documentId: "privacy-policy", documentVersion: "3.1" });
  trackConsentGranted({ id: "privacy-policy", version: "3.1", name: "Privacy policy", expiry: "2027-12-04T00:00:00.000Z" });
  trackConsentWithdrawn({ all: false, id: "newsletter", version: "1.0", name: "Newsletter" });

  // A video watched, with a pre-roll ad (no pings: the session ends first).
  const id = "video-" + mode;
  startMediaTracking({ id, player: { duration: 300, label: "Product tour", mediaType: "video", playerType: "html5-video", volume: 80 }, pings: false });
  trackMediaReady({ id });
  trackMediaAdBreakStart({ id, adBreak: { breakId: "pre-roll-1", name: "pre-roll", breakType: "linear", podSize: 1 } });
  trackMediaAdStart({ id, ad: { adId: "ad-7", name: "Winter sale", creativeId: "cr-1", duration: 15, skippable: true } });
  trackMediaAdFirstQuartile({ id });
  trackMediaAdComplete({ id });
  trackMediaAdBreakEnd({ id });
  trackMediaPlay({ id, player: { currentTime: 0, paused: false } });
  trackMediaVolumeChange({ id, newVolume: 40 });
  trackMediaQualityChange({ id, previousQuality: "480p", newQuality: "1080p", bitrate: 4500000, framesPerSecond: 30, automatic: true });
  trackMediaPause({ id, player: { currentTime: 42.5 } });
  trackMediaEnd({ id, player: { currentTime: 300 } });
  endMediaTracking({ id });
};
