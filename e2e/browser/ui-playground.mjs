// The playground in the browser, with KEY picked through the address: a
// payload breaking the contract, a valid one and one that is not JSON,
// each checked with the button; reports the verdicts, the violations'
// fields, the curl shown and the raw answer. Screenshot:
// ui-playground-violation.png.
import { BASE, env, launch, problems, run, shot, waitReady, watch } from "./ui-lib.mjs";

async function checkWith(page, data) {
  await page.fill("#pg-data", data);
  await page.evaluate(() => document.querySelector("#verdict")?.remove());
  await page.click("#pg-check");
  await page.waitForSelector("#verdict");
  return {
    valid: await page.$eval("#verdict", (v) => v.dataset.valid),
    text: await page.textContent("#verdict"),
    paths: await page.$$eval("#verdict [data-instance-path]", (lis) => lis.map((li) => li.dataset.instancePath)),
    curl: await page.textContent("#pg-curl"),
    raw: await page.textContent("#pg-raw"),
  };
}

run(async () => {
  const { browser, context } = await launch();
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(BASE() + "#/playground?key=" + encodeURIComponent(env("KEY")));
  await waitReady(page, "playground");
  if ((await page.inputValue("#pg-contract")) !== env("KEY")) throw new Error("the contract in the address is not picked");
  const out = {};
  out.bad = await checkWith(page, '{\n  "total": -5,\n  "coupon": "SPRING"\n}');
  await shot(page, "ui-playground-violation.png");
  out.good = await checkWith(page, '{"cart_id": "c-1", "total": 12.5}');
  out.notJSON = await checkWith(page, '{"cart_id": "c-1", "total": ');
  // The run with the bad payload again, so that the curl and raw answer
  // reported are those of a violation.
  out.bad = await checkWith(page, '{\n  "total": -5,\n  "coupon": "SPRING"\n}');
  out.problems = problems(w);
  await browser.close();
  return out;
});
