import { catalogPage } from "./pages/catalog.js";
import { failedPage } from "./pages/failed.js";
import { healthPage } from "./pages/health.js";
import { inspectorPage } from "./pages/inspector.js";
import { playgroundPage } from "./pages/playground.js";
export const pages = [
    catalogPage,
    inspectorPage,
    playgroundPage,
    failedPage,
    healthPage,
];
