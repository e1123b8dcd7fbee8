// The playground in the browser, with KEY picked through the address: a
// payload breaking the contract, a valid one and one that is not JSON,
// each checked with the button; reports the verdicts, the violations'
// fields, the curl shown and the raw answer; then two picks of a contract
// whose first answer comes last, and what the data box holds after it.
// Screenshot:
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
  // Two picks in a row, the first one's answer held back a second as on
  // a slow network: the data box, edited after the second pick's example
  // filled it, must keep the edit when the late answer comes.
  const contractAsked = /api\/contract\?/;
  let held = false;
  let answers = 0;
  const bothAnswered = new Promise((resolve) =>
    page.on("response", (r) => {
      if (contractAsked.test(r.url()) && ++answers === 2) resolve();
    }),
  );
  await page.route(contractAsked, async (route) => {
    if (!held) {
      held = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await route.continue();
  });
  await page.fill("#pg-data", "before the picks");
  await page.selectOption("#pg-contract", env("KEY").replace(/1-0-0$/, "2-0-0"));
  await page.selectOption("#pg-contract", env("KEY").replace(/1-0-0$/, "1-0-1"));
  await page.waitForFunction(() => document.querySelector("#pg-data").value !== "before the picks");
  out.secondPickExample = await page.inputValue("#pg-data");
  await page.fill("#pg-data", "edited by hand");
  await bothAnswered;
  await page.evaluate(() => new Promise((r) => setTimeout(r, 200))); // time for the page to take the late answer
  out.afterLate = await page.inputValue("#pg-data");
  await page.unroute(contractAsked);
  out.problems = problems(w);
  await browser.close();
  return out;
});
