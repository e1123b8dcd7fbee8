// Drives the pages in headless Chromium (Debian's chromium, through
// playwright-core): one browser launch, two browser contexts (profiles).
//
//   cross: pages on PAGE_CROSS (http://127.0.0.1:P) send to COLLECTOR_CROSS
//     (http://localhost:C): another origin and another site, as a shop
//     sending to a collector on a domain of its own. The Snowplow page is
//     loaded with mode=post, then mode=get, then mode=keepalive; a beacon
//     (navigator.sendBeacon, as tracker 3's beacon method sent it) is sent
//     from the last; then the Segment page.
//   same: a Snowplow page on PAGE_SAME (http://www.shop.test:P) sends to
//     COLLECTOR_SAME (http://collector.shop.test:C): another origin but the
//     same site, as a shop with its collector on a subdomain of its own.
//     Both origins are treated as secure (standing in for HTTPS, which a
//     Secure cookie needs). Loaded twice.
//   plain: the same over plain HTTP, PAGE_PLAIN (http://www.plain.test:P)
//     to COLLECTOR_PLAIN (http://collector.plain.test:C), not treated as
//     secure. Loaded once.
//
// A user's clicks and form input are real input events; the rest of each
// page's events come from the page's own code (accordScenario). It prints
// one JSON summary: the events each page's tracker built and what the
// collector acknowledged, the beacon's event id, the Segment message ids,
// and, per context, what the browser did with the collector's sp cookie
// (from the DevTools protocol: each Set-Cookie with the reasons it was
// refused, if it was, and how many requests carried the cookie back).
//
// Usage: PAGE_CROSS=... COLLECTOR_CROSS=... PAGE_SAME=... COLLECTOR_SAME=...
//   SEGMENT_WRITE_KEY=... CHROMIUM=/usr/bin/chromium node drive.mjs
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const deadline = (ms) => Date.now() + ms;

// waitFor polls fn in the page until it returns a truthy value.
async function waitFor(page, fn, what, ms = 20000) {
  const end = deadline(ms);
  for (;;) {
    const v = await page.evaluate(fn);
    if (v) return v;
    if (Date.now() > end) {
      const state = await page.evaluate(() => JSON.stringify(window.accord));
      throw new Error(`timed out waiting for ${what}; page state: ${state}`);
    }
    await page.waitForTimeout(50);
  }
}

// snowplowPage loads snowplow.html, acts as a user, runs the page's
// scenario, and waits until the collector acknowledged every event.
async function snowplowPage(context, origin, collector, mode, interact, cookies) {
  const page = await context.newPage();
  await watchCookies(context, page, cookies);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(`${origin}/snowplow.html?mode=${mode}&collector=${encodeURIComponent(collector)}`);
  await waitFor(page, () => window.accord && window.accord.tracked.length > 0, "the page view");
  if (interact) {
    await page.click("#docs-link");
    await page.click("#email");
    await page.fill("#email", "ada@example.com");
    await page.fill("#password", "secret");
    await page.selectOption("#plan", "pro");
    await page.click("#submit");
    // An uncaught error, for the error tracking plugin.
    await page.evaluate(() => setTimeout(() => {
      throw new Error("uncaught in checkout");
    }, 0));
    await page.evaluate(() => window.accordScenario());
  }
  await waitFor(
    page,
    () => {
      const s = window.accord;
      const failed = s.failures.reduce((n, f) => n + f.events.length, 0);
      return s.tracked.length > 0 && s.acked.length + failed >= s.tracked.length;
    },
    `the collector to acknowledge every event (${mode})`,
  );
  const state = await page.evaluate(() => window.accord);
  return { page, summary: { origin, collector, mode, tracked: state.tracked, acked: state.acked, failures: state.failures, pageErrors } };
}

// beacon sends one page view with navigator.sendBeacon, as tracker 3's
// beacon method did: a payload_data body, text/plain (the one content type
// a beacon sends without a preflight). It returns the event's id once the
// collector has answered.
async function beacon(page, collector) {
  const eid = await page.evaluate((collector) => {
    const eid = crypto.randomUUID();
    const body = JSON.stringify({
      schema: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
      data: [{ e: "pv", p: "web", tv: "js-3.24.6", aid: "accord-browser-e2e", eid, url: location.href, page: document.title, stm: String(Date.now()) }],
    });
    if (!navigator.sendBeacon(collector + "/com.snowplowanalytics.snowplow/tp2", new Blob([body], { type: "text/plain;charset=UTF-8" }))) {
      throw new Error("sendBeacon refused the beacon");
    }
    return eid;
  }, collector);
  return eid;
}

// watchCookies notes, for the page's requests, what the browser did with
// the collector's sp cookie.
async function watchCookies(context, page, cookies) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  cdp.on("Network.responseReceivedExtraInfo", (e) => {
    const header = Object.entries(e.headers).find(([k]) => k.toLowerCase() === "set-cookie");
    if (!header || !/(^|\n)sp=/.test(header[1])) return;
    const blocked = (e.blockedCookies || []).find((b) => b.cookie && b.cookie.name === "sp");
    cookies.set.push({ line: header[1], blockedReasons: blocked ? blocked.blockedReasons : [] });
  });
  cdp.on("Network.requestWillBeSentExtraInfo", (e) => {
    if ((e.associatedCookies || []).some((c) => c.cookie.name === "sp" && c.blockedReasons.length === 0)) cookies.sent++;
  });
}

async function segmentPage(context, origin, collector, writeKey) {
  const page = await context.newPage();
  const host = new URL(collector).host;
  await page.goto(`${origin}/segment.html?writeKey=${encodeURIComponent(writeKey)}&apiHost=${encodeURIComponent(host + "/v1")}`);
  await waitFor(page, () => window.accord && (window.accord.done || window.accord.error), "analytics-next");
  const state = await page.evaluate(() => window.accord);
  if (state.error) throw new Error(`analytics-next: ${state.error}`);
  await page.close();
  return state.ids;
}

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  // --no-sandbox: the suite runs as root in CI. The resolver rule sends
  // localhost, *.shop.test and *.plain.test to the loopback address the
  // servers listen on. The shop.test origins are treated as secure, as
  // HTTPS would make them.
  args: [
    "--no-sandbox",
    "--host-resolver-rules=MAP localhost 127.0.0.1, MAP *.shop.test 127.0.0.1, MAP *.plain.test 127.0.0.1",
    `--unsafely-treat-insecure-origin-as-secure=${env("PAGE_SAME")},${env("COLLECTOR_SAME")}`,
  ],
});
try {
  const out = { pages: [], beacon: "", segment: {}, cookies: {} };
  const collectorCross = env("COLLECTOR_CROSS");
  const collectorSame = env("COLLECTOR_SAME");

  out.cookies.cross = { set: [], sent: 0 };
  out.cookies.same = { set: [], sent: 0 };
  const cross = await browser.newContext();
  for (const mode of ["post", "get", "keepalive"]) {
    const { page, summary } = await snowplowPage(cross, env("PAGE_CROSS"), collectorCross, mode, true, out.cookies.cross);
    out.pages.push({ context: "cross", ...summary });
    if (mode === "keepalive") out.beacon = await beacon(page, collectorCross);
    await page.close();
  }
  out.segment = await segmentPage(cross, env("PAGE_CROSS"), collectorCross, env("SEGMENT_WRITE_KEY"));

  const same = await browser.newContext();
  for (let i = 0; i < 2; i++) {
    const { page, summary } = await snowplowPage(same, env("PAGE_SAME"), collectorSame, "post", false, out.cookies.same);
    out.pages.push({ context: "same", ...summary });
    await page.close();
  }
  out.cookies.plain = { set: [], sent: 0 };
  const plain = await browser.newContext();
  const { page, summary } = await snowplowPage(plain, env("PAGE_PLAIN"), env("COLLECTOR_PLAIN"), "post", false, out.cookies.plain);
  out.pages.push({ context: "plain", ...summary });
  await page.close();
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
}
