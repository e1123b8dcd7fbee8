// The live inspector in the browser (e2e/ui_inspector_test.go): with the
// page open and live, an event sent now (to COLLECT, the collector) must
// appear within a second; a failed one, opened, shows its messages with
// the offending field highlighted in the event. Prints {goodMs, failedMs,
// highlighted, messages, text, problems} and writes ui-inspector-failed-record.png.
import { env, launch, open, problems, run, shot } from "./ui-lib.mjs";

async function send(body) {
  const resp = await fetch(env("COLLECT") + "/events", { method: "POST", headers: { "Content-Type": "application/json" }, body });
  await resp.text();
}

run(async () => {
  const { browser, context } = await launch();
  const { page, w } = await open(context, "#/inspector", "inspector");
  await page.waitForSelector('.page[data-live="true"]', { timeout: 20000 });
  const good = JSON.parse(env("GOOD_EVENT"));
  const bad = JSON.parse(env("BAD_EVENT"));

  let t0 = Date.now();
  await send(JSON.stringify(good));
  await page.waitForSelector(`tr[data-event-id="${good.event_id}"]`, { timeout: 20000 });
  const goodMs = Date.now() - t0;

  t0 = Date.now();
  await send(JSON.stringify(bad));
  await page.waitForSelector(`tr[data-event-id="${bad.event_id}"]`, { timeout: 20000 });
  const failedMs = Date.now() - t0;
  await page.click(`tr[data-event-id="${bad.event_id}"]`);
  await page.waitForSelector(".record-detail .offending", { timeout: 5000 });
  const highlighted = await page.$$eval(".record-detail .offending", (els) => els.map((e) => ({ pointer: e.dataset.pointer, text: e.textContent })));
  const messages = await page.$$eval(".record-detail ol.messages li", (els) => els.map((e) => ({ path: e.dataset.instancePath, text: e.textContent })));
  await shot(page, "ui-inspector-failed-record.png");
  const text = await page.textContent("body");
  const out = { goodMs, failedMs, highlighted, messages, text, problems: problems(w) };
  await browser.close();
  return out;
});
