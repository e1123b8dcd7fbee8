// The shell: the navigation, and the router that shows the page the
// location's hash names (#/catalog, #/health, ...). Hash routes keep every
// page at one URL on the server, so the UI works under any path prefix.
import { h, replace } from "./dom.js";
import { errorBox } from "./components.js";
import { link, parseRoute } from "./page.js";
import { pages } from "./pages.js";
const main = document.getElementById("main");
const nav = document.getElementById("nav");
let cleanup = null;
// shown counts navigations, so that a slow page that finishes after the
// user moved on leaves the new page alone.
let shown = 0;
function buildNav() {
    replace(nav, pages.map((p) => h("li", null, h("a", { href: link(p.path), "data-page": p.path }, p.title))));
}
function notFound(route) {
    return {
        path: route.page,
        title: "Not found",
        render(root) {
            root.append(h("h1", null, "No such page"), h("p", null, `There is no page "${route.page}". Pick one in the navigation above.`));
        },
    };
}
async function show() {
    const route = parseRoute(location.hash);
    if (route === null)
        return; // an in-page anchor such as #main
    if (route.page === "") {
        location.replace(link(pages[0].path));
        return;
    }
    const page = pages.find((p) => p.path === route.page) ?? notFound(route);
    if (cleanup) {
        cleanup();
        cleanup = null;
    }
    const n = ++shown;
    delete main.dataset.ready;
    for (const a of nav.querySelectorAll("a")) {
        if (a.dataset.page === page.path)
            a.setAttribute("aria-current", "page");
        else
            a.removeAttribute("aria-current");
    }
    document.title = `${page.title} · Accord`;
    const root = h("div", { class: "page", "data-page": page.path });
    replace(main, root);
    try {
        const stop = await page.render(root, route);
        if (typeof stop === "function") {
            if (n === shown)
                cleanup = stop;
            else
                stop();
        }
    }
    catch (err) {
        if (n === shown)
            root.append(errorBox(err));
    }
    if (n === shown)
        main.dataset.ready = page.path;
}
buildNav();
window.addEventListener("hashchange", () => void show());
void show();
