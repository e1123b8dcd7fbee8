// The catalog in the browser: the search filters as the user types; the
// page of CHECKOUT_ID shows its facts, versions, fields, volume, example
// and the diff of two versions (picked in the selects, the answer to an
// earlier pick arriving late); XSS_ID's texts,
// which are markup (XSS_TEXT), stay text on the catalog, its page and the
// playground, and nothing in them runs. Screenshot: ui-contract.png.
import { BASE, env, launch, problems, run, shot, waitReady, watch } from "./ui-lib.mjs";

const rows = (page) => page.$$eval("#catalog-table tbody tr[data-contract]", (trs) => trs.map((tr) => tr.dataset.contract));

// typeInto types text key by key, as a user does, into selector.
async function typeInto(page, selector, text) {
  await page.fill(selector, "");
  await page.type(selector, text, { delay: 20 });
}

run(async () => {
  const { browser, context } = await launch();
  const page = await context.newPage();
  const w = watch(page);
  const out = { search: {}, contract: {}, xss: { pages: [] } };

  await page.goto(BASE() + "#/catalog");
  await waitReady(page, "catalog");
  out.search.all = (await rows(page)).length;
  await typeInto(page, "#catalog-search", "checkout");
  out.search.rows = await rows(page);
  out.search.checkout = out.search.rows.length;
  out.search.status = await page.textContent("#catalog-count");
  await typeInto(page, "#catalog-search", "zzz-nothing-matches");
  out.search.nothing = (await rows(page)).length;
  await typeInto(page, "#catalog-search", "Checkout Started");
  out.search.trackingPlan = (await rows(page)).length;

  // The probe in the list.
  await typeInto(page, "#catalog-search", "xss_probe");
  out.xss.pages.push("catalog");

  // The contract's page, reached by its link.
  await typeInto(page, "#catalog-search", "checkout_started");
  await page.click(`#catalog-table a[href*="${encodeURIComponent(env("CHECKOUT_ID"))}"]`);
  await waitReady(page, "catalog");
  await page.waitForSelector("#compare-result");
  const c = out.contract;
  c.heading = await page.textContent("main h1");
  c.key = await page.textContent("#schema-key");
  c.volume = await page.textContent("#volume");
  c.example = await page.textContent("#example");
  c.versions = await page.$$eval("#versions-table tbody th", (ths) => ths.map((th) => th.textContent.replace(" (shown)", "")));
  c.fields = Object.fromEntries(await page.$$eval("#fields-table tbody tr", (trs) => trs.map((tr) => [tr.dataset.field, tr.textContent])));
  c.facts = Object.fromEntries(await page.$$eval("dl.facts dt", (dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
  const changes = () => page.$$eval("#changes-table tbody tr", (trs) => trs.map((tr) => tr.textContent));
  c.compare = { default: await changes(), verdict: await page.textContent("#compare-result") };
  await shot(page, "ui-contract.png");
  // The answer to the first pick (1-0-0 → 2-0-0) comes after the
  // second's, as on a slow network: the page must go on showing the
  // second.
  const late = /api\/compare\?.*from=1-0-0&to=2-0-0/;
  await page.route(late, async (route) => {
    await new Promise((r) => setTimeout(r, 1000));
    await route.continue();
  });
  const lateAnswered = page.waitForResponse((r) => late.test(r.url()));
  await page.selectOption("#compare-from", "1-0-0");
  await page.selectOption("#compare-to", "1-0-1");
  await page.waitForFunction(() => document.querySelector("#compare-result")?.textContent.includes("1-0-0 → 1-0-1"));
  c.compare.picked = await changes();
  await lateAnswered;
  await page.evaluate(() => new Promise((r) => setTimeout(r, 200))); // time for the page to take the late answer
  c.compare.afterLate = await page.textContent("#compare-result");
  await page.unroute(late);

  // The probe's own page and the playground with it picked.
  const xssID = env("XSS_ID");
  await page.goto(BASE() + "#/catalog/" + encodeURIComponent(xssID));
  await waitReady(page, "catalog");
  out.xss.text = await page.textContent("main");
  out.xss.pages.push("contract");
  await page.goto(BASE() + "#/playground?key=" + encodeURIComponent("iglu:" + xssID + "/1-0-0"));
  await waitReady(page, "playground");
  out.xss.pages.push("playground");
  out.xss.pwned = await page.evaluate(() => window.__pwned ?? null);
  out.xss.injectedImages = await page.evaluate(() => document.querySelectorAll('img[src="x"]').length);

  out.problems = problems(w);
  await browser.close();
  return out;
});
