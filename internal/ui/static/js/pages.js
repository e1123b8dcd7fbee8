import { healthPage } from "./pages/health.js";
export const pages = [
    // catalog
    // inspector
    // playground
    // failed
    healthPage,
];
