// The failed-events page in the browser (e2e/ui_inspector_test.go): the
// failed records of one contract listed, one opened with its offending
// field highlighted, REPLAY_IDS selected and replayed, and the outcome
// shown. Prints {listed, highlighted, outcomes, summary, problems} and
// writes ui-failed-replay.png.
import { env, launch, open, problems, run, shot } from "./ui-lib.mjs";

run(async () => {
  const { browser, context } = await launch();
  const { page, w } = await open(context, "#/failed?type=schema_violation", "failed");
  await page.waitForSelector("table.records tbody tr", { timeout: 20000 });
  const listed = await page.$$eval("table.records tbody tr", (rows) => rows.map((r) => r.dataset.eventId));
  const ids = env("REPLAY_IDS").split(",");
  await page.click(`table.records tbody tr[data-event-id="${ids[0]}"] td:nth-child(3)`);
  await page.waitForSelector(".record-detail .offending", { timeout: 5000 });
  const highlighted = await page.$$eval(".record-detail .offending", (els) => els.map((e) => e.dataset.pointer));
  for (const id of ids) await page.check(`input[type=checkbox][value="${id}"]`);
  await page.click("button.replay");
  await page.waitForSelector(".outcome [data-outcome]", { timeout: 30000 });
  const outcomes = await page.$$eval(".outcome [data-outcome]", (rows) => rows.map((r) => ({ id: r.dataset.eventId, outcome: r.dataset.outcome })));
  const summary = await page.textContent(".outcome section p");
  await shot(page, "ui-failed-replay.png");
  const out = { listed, highlighted, outcomes, summary, problems: problems(w) };
  await browser.close();
  return out;
});
