// Walks every page of the UI's navigation (whatever pages it lists: a new
// page is covered without changing this script), clicking its link as a
// user would, and reports per page what broke (see ui-lib.mjs) with a
// screenshot ui-<page>.png. Prints {pages: [{page, title, heading, url,
// problems}]}.
import { BASE, launch, problems, run, shot, waitReady, watch } from "./ui-lib.mjs";

run(async () => {
  const { browser, context } = await launch();
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(BASE());
  const links = await page.$$eval("#nav a", (as) => as.map((a) => ({ page: a.dataset.page, title: a.textContent })));
  const out = [];
  for (const l of links) {
    await page.click(`#nav a[data-page="${l.page}"]`);
    await waitReady(page, l.page);
    out.push({
      page: l.page,
      title: l.title,
      heading: await page.textContent("main h1"),
      current: await page.$eval(`#nav a[data-page="${l.page}"]`, (a) => a.getAttribute("aria-current")),
      url: page.url(),
      text: await page.textContent("main"),
      problems: problems(w),
    });
    await shot(page, `ui-${l.page}.png`);
    for (const k of Object.keys(w)) w[k].length = 0;
  }
  await browser.close();
  return { pages: out };
});
