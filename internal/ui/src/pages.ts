// The sections of the UI, in the order of the navigation. Each is a
// module of pages/ exporting a Page. The slots, in order: catalog,
// inspector (live inspector), playground, failed (failed events), health.
// A new page is one import and one line here.
import type { Page } from "./page.js";
import { catalogPage } from "./pages/catalog.js";
import { failedPage } from "./pages/failed.js";
import { healthPage } from "./pages/health.js";
import { inspectorPage } from "./pages/inspector.js";
import { playgroundPage } from "./pages/playground.js";

export const pages: Page[] = [
  catalogPage,
  inspectorPage,
  playgroundPage,
  failedPage,
  healthPage,
];
