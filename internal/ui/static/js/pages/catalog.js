// Catalog: every contract the collector knows, searchable as you type, and
// a page per contract with its versions, the differences between any two
// of them, its fields, who owns it, its SLA, the tracking-plan names it
// covers, how many events it gets and how many fail, and an example event.
// The data is package catalog's model (GET api/catalog, api/contract,
// api/compare), the one accord gen catalog writes.
import { getJSON } from "../api.js";
import { definitionList, errorBox, pageHeader } from "../components.js";
import { append, h, replace, text } from "../dom.js";
import { link } from "../page.js";
import { bumpWords, piiWords } from "../catalog-model.js";
import { describe, loadVolumes, sum } from "../volume.js";
/** matches reports whether every word of the query is in the contract's text. */
export function matches(c, query) {
    const hay = [c.id, c.vendor, c.name, c.description, c.owner, c.team, ...(c.tags ?? []), ...(c.tracking_plan ?? []), ...c.keys]
        .join(" ")
        .toLowerCase();
    return query
        .toLowerCase()
        .split(/\s+/)
        .filter((w) => w !== "")
        .every((w) => hay.includes(w));
}
async function volumesOrNone() {
    try {
        return await loadVolumes();
    }
    catch {
        // The counts are a bonus on this page: without them (a collector
        // that does not deliver) the catalog still shows.
        return null;
    }
}
async function renderList(root, route) {
    root.append(pageHeader("Catalog", "Every contract this collector knows: what each event means, who owns it, and what it must contain. Pick one to see its fields, versions and an example."));
    const [list, volumes] = await Promise.all([getJSON("api/catalog"), volumesOrNone()]);
    const search = h("input", {
        type: "search",
        id: "catalog-search",
        name: "q",
        autocomplete: "off",
        placeholder: "checkout, email, team-growth …",
        "aria-describedby": "catalog-search-hint",
        value: route.query.get("q") ?? "",
    });
    const builtins = h("input", { type: "checkbox", id: "catalog-builtin", checked: route.query.get("builtin") === "1" });
    const count = h("p", { id: "catalog-count", role: "status", "aria-live": "polite" });
    const tbody = h("tbody");
    const table = h("table", { id: "catalog-table" }, h("thead", null, h("tr", null, ["Contract", "What it is", "Owner", "Latest version", "Events"].map((c) => h("th", { scope: "col" }, c)))), tbody);
    root.append(h("form", { role: "search", onsubmit: (e) => e.preventDefault() }, h("label", { for: "catalog-search" }, "Search contracts"), h("span", { class: "hint", id: "catalog-search-hint" }, "Matches names, descriptions, owners, teams, tags and tracking-plan event names. Results filter as you type."), search, h("label", { class: "inline" }, builtins, " Show the contracts built into Accord (Snowplow's events and the enrichments' contexts)")), count, h("div", { class: "table-scroll" }, table));
    const rowOf = (c) => h("tr", { "data-contract": c.id }, h("th", { scope: "row" }, h("a", { href: link("catalog", c.id) }, c.name), h("div", { class: "hint" }, c.vendor), c.builtin ? h("span", { class: "badge" }, "built in") : null), h("td", { class: "wrap" }, text(c.description)), h("td", null, text(c.owner), c.team ? h("div", { class: "hint" }, c.team) : null), h("td", null, h("code", null, c.latest)), h("td", null, volumes ? describe(sum(volumes, c.keys)) : "—"));
    const update = () => {
        const q = search.value;
        const shown = list.contracts.filter((c) => (builtins.checked || !c.builtin) && matches(c, q));
        replace(tbody, shown.length > 0 ? shown.map(rowOf) : h("tr", null, h("td", { colspan: 5 }, "No contract matches: try fewer or other words.")));
        replace(count, `${shown.length} of ${list.contracts.length} contracts shown${builtins.checked ? "" : " (the built-in ones hidden)"}.`);
        const params = new URLSearchParams();
        if (q)
            params.set("q", q);
        if (builtins.checked)
            params.set("builtin", "1");
        const qs = params.toString();
        // The search is part of the address (shareable, kept on reload)
        // without a new history entry per keystroke.
        history.replaceState(null, "", link("catalog") + (qs ? "?" + qs : ""));
    };
    search.addEventListener("input", update);
    builtins.addEventListener("change", update);
    update();
}
function list(items) {
    if (!items || items.length === 0)
        return "—";
    return h("ul", { class: "inline-list" }, items.map((i) => h("li", null, h("code", null, i))));
}
function fieldsTable(v) {
    if (v.fields.length === 0)
        return h("p", null, "This version declares no properties.");
    return h("div", { class: "table-scroll" }, h("table", { id: "fields-table" }, h("thead", null, h("tr", null, ["Field", "Type", "Required", "Description", "Personal data"].map((c) => h("th", { scope: "col" }, c)))), h("tbody", null, v.fields.map((f) => h("tr", { "data-field": f.path }, h("th", { scope: "row" }, h("code", null, f.path)), h("td", null, h("code", null, f.type), f.format ? h("div", { class: "hint" }, `format: ${f.format}`) : null, f.enum ? h("div", { class: "hint" }, "one of: ", f.enum.map((e) => JSON.stringify(e)).join(", ")) : null), h("td", null, f.required ? "required" : "optional"), h("td", { class: "wrap" }, text(f.description)), h("td", { class: "wrap" }, f.pii ? h("span", { class: "pii" }, piiWords(f.pii)) : "—"))))), v.fields_truncated ? h("p", { class: "hint" }, "Only the first fields are listed: this version has more.") : null);
}
function stepView(step) {
    const box = h("div", { id: "compare-result" });
    if (step.error) {
        box.append(errorBox(new Error(step.error)));
        return box;
    }
    box.append(definitionList([
        ["Version change", `${step.from} → ${step.to}: ${bumpWords[step.declared]}`],
        ["The changes need", bumpWords[step.needed]],
        [
            "Verdict",
            step.honest
                ? h("span", { class: "badge good" }, "the version number tells the truth")
                : h("span", { class: "badge bad" }, `the version number understates the change: it needs a ${step.needed} bump`),
        ],
    ]));
    if (step.changes.length === 0) {
        box.append(h("p", null, "No change to what events may contain."));
        return box;
    }
    box.append(h("table", { id: "changes-table" }, h("thead", null, h("tr", null, ["Field", "What changed", "Bump it needs"].map((c) => h("th", { scope: "col" }, c)))), h("tbody", null, step.changes.map((c) => h("tr", null, h("th", { scope: "row" }, h("code", null, c.property || "(the event)")), h("td", { class: "wrap" }, c.message), h("td", null, h("span", { class: `badge bump-${c.bump.toLowerCase()}` }, c.bump)))))));
    return box;
}
function compareSection(c) {
    const sec = h("section", { "aria-labelledby": "compare-h" }, h("h2", { id: "compare-h" }, "Compare two versions"));
    if (c.versions.length < 2) {
        sec.append(h("p", null, "This contract has one version: nothing to compare yet."));
        return sec;
    }
    sec.append(h("p", { class: "hint" }, "What changed between two versions, and the SchemaVer bump (MODEL-REVISION-ADDITION) each change needs."));
    const opts = (sel) => c.versions.map((v) => h("option", { value: v.version, selected: v.version === sel }, v.version));
    const from = h("select", { id: "compare-from" }, opts(c.versions[c.versions.length - 2].version));
    const to = h("select", { id: "compare-to" }, opts(c.latest));
    const out = h("div", { "aria-live": "polite" });
    // Each pick asks again; only the answer to the last one is shown, so
    // that a slower answer to an earlier pick never replaces it.
    let asked = 0;
    const load = async () => {
        const mine = ++asked;
        let shown;
        try {
            const q = new URLSearchParams({ id: c.id, from: from.value, to: to.value });
            shown = stepView(await getJSON(`api/compare?${q}`));
        }
        catch (err) {
            shown = errorBox(err);
        }
        if (mine === asked)
            replace(out, shown);
    };
    from.addEventListener("change", () => void load());
    to.addEventListener("change", () => void load());
    sec.append(h("div", { class: "row" }, h("label", { for: "compare-from" }, "From"), from, h("label", { for: "compare-to" }, "to"), to), out);
    void load();
    return sec;
}
async function renderContract(root, id, route) {
    const [c, volumes] = await Promise.all([getJSON(`api/contract?id=${encodeURIComponent(id)}`), volumesOrNone()]);
    const v = c.versions.find((x) => x.version === route.query.get("v")) ?? c.versions[c.versions.length - 1];
    root.append(h("p", { class: "crumbs" }, h("a", { href: link("catalog") }, "Catalog"), " / ", c.vendor), pageHeader(c.name, v.description || "This contract has no description yet: add one under x-accord.description."));
    const sla = v.sla ? [v.sla.freshness ? `fresh within ${v.sla.freshness}` : "", v.sla.volume_per_day ? `about ${v.sla.volume_per_day} events a day` : ""].filter((s) => s).join(", ") : "";
    const places = v.places.length ? h("ul", { class: "inline-list" }, v.places.map((p) => h("li", null, `${p.sink} (${p.type}) ${p.kind} `, h("code", null, p.name)))) : "—";
    append(root, [
        definitionList([
            ["Schema key", h("code", { id: "schema-key" }, v.key)],
            ["Owner", text(v.owner)],
            ["Team", text(v.team)],
            ["Service level (SLA)", sla || "—"],
            ["Tracking-plan names", list(v.tracking_plan)],
            ["Tags", list(v.tags)],
            ["Events land in", places],
            ["Volume (all versions)", h("span", { id: "volume" }, volumes ? describe(sum(volumes, c.versions.map((x) => x.key))) : "—")],
        ]),
        volumes?.since ? h("p", { class: "hint" }, `Counted since ${new Date(volumes.since).toLocaleString("en")}.`) : null,
    ]);
    root.append(h("h2", null, "Versions"), h("table", { id: "versions-table" }, h("thead", null, h("tr", null, ["Version", "Status", "Events"].map((x) => h("th", { scope: "col" }, x)))), h("tbody", null, [...c.versions].reverse().map((x) => h("tr", { "aria-current": x.version === v.version ? "true" : null }, h("th", { scope: "row" }, x.version === v.version ? h("strong", null, x.version, " (shown)") : h("a", { href: link("catalog", c.id) + "?v=" + encodeURIComponent(x.version) }, x.version)), h("td", null, x.version === c.latest ? "latest" : x.superseded ? "superseded by a newer MODEL" : "older"), h("td", null, volumes ? describe(sum(volumes, [x.key])) : "—"))))), h("h2", null, `Fields of ${v.version}`), h("p", { class: "hint" }, "The properties an event's data may hold. Personal data says how Accord protects a value before storing it."), fieldsTable(v), h("h2", null, "Example event"));
    if (v.example !== undefined) {
        root.append(h("p", { class: "hint" }, "Made from the contract and checked against it: a valid event's data."), h("pre", { id: "example" }, JSON.stringify(v.example, null, 2)), h("p", null, h("a", { href: link("playground") + "?key=" + encodeURIComponent(v.key) }, "Try it in the playground")));
    }
    else {
        root.append(h("p", null, "No example could be made: ", text(v.example_error)));
    }
    root.append(compareSection(c));
}
export const catalogPage = {
    path: "catalog",
    title: "Catalog",
    async render(root, route) {
        if (route.rest.length > 0)
            await renderContract(root, route.rest[0], route);
        else
            await renderList(root, route);
    },
};
