import { catalogPage } from "./pages/catalog.js";
import { healthPage } from "./pages/health.js";
import { playgroundPage } from "./pages/playground.js";
export const pages = [
    catalogPage,
    // inspector
    playgroundPage,
    // failed
    healthPage,
];
