// Opens the static catalog site accord gen catalog wrote (SITE, a
// directory) from disk, file:// as a reader offline would, in headless
// Chromium (Debian's chromium, through playwright-core). It visits
// index.html and every page it links to, follows every link on each page
// (other pages must exist, #fragments must name an element), and records
// console messages of level error or warning, page errors, dialogs (a
// script from a contract that ran would open one) and requests that left
// the disk. It prints one JSON summary.
//
// Usage: SITE=/path/to/dir CHROMIUM=/usr/bin/chromium node catalog.mjs
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const site = env("SITE");
const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
const summary = { pages: [], console: [], pageErrors: [], dialogs: [], external: [], brokenLinks: [] };
try {
  const context = await browser.newContext({ offline: true });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") summary.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => summary.pageErrors.push(e.message));
  page.on("dialog", async (d) => {
    summary.dialogs.push(d.message());
    await d.dismiss();
  });
  page.on("request", (r) => {
    if (!r.url().startsWith("file://")) summary.external.push(r.url());
  });
  const start = pathToFileURL(`${site}/index.html`).href;
  const queue = [start];
  const seen = new Set();
  while (queue.length > 0) {
    const url = queue.shift();
    if (seen.has(url)) continue;
    seen.add(url);
    if (!existsSync(fileURLToPath(url))) {
      summary.brokenLinks.push(url);
      continue;
    }
    await page.goto(url);
    const info = await page.evaluate(() => ({
      title: document.title,
      h1: document.querySelector("h1")?.textContent ?? "",
      contracts: document.querySelectorAll("#contracts tbody tr").length,
      versions: document.querySelectorAll("section.version").length,
      fields: document.querySelectorAll("table.fields tbody tr").length,
      examples: [...document.querySelectorAll("pre.example")].map((p) => p.textContent),
      scripts: document.querySelectorAll("script").length,
      text: document.body.innerText,
      links: [...document.querySelectorAll("a[href]")].map((a) => ({ href: a.href, raw: a.getAttribute("href") })),
      ids: [...document.querySelectorAll("[id]")].map((e) => e.id),
    }));
    for (const l of info.links) {
      const [file, frag] = l.href.split("#");
      if (!file.startsWith("file://")) {
        summary.brokenLinks.push(`${url}: ${l.raw} leaves the site`);
        continue;
      }
      if (frag !== undefined && file === url.split("#")[0]) {
        if (!info.ids.includes(decodeURIComponent(frag))) summary.brokenLinks.push(`${url}: #${frag} names no element`);
        continue;
      }
      if (file.endsWith(".html")) queue.push(file);
      else if (!existsSync(fileURLToPath(file))) summary.brokenLinks.push(`${url}: ${l.raw} does not exist`);
    }
    delete info.links;
    delete info.ids;
    summary.pages.push({ url, ...info });
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(summary));
