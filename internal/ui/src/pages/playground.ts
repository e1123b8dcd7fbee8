// Playground: paste an event, pick its contract and version, and see what
// the collector would answer, word for word (POST api/check runs the
// collector's own self-describing route, storing nothing), with the curl
// that sends the same event for real. Written for someone drafting a
// contract as much as for an engineer: every control says what it is for.
import { absolute, getJSON } from "../api.js";
import { errorBox, pageHeader } from "../components.js";
import { append, h, replace } from "../dom.js";
import { link, type Page } from "../page.js";
import { fieldOf, type Contract, type Summary } from "../catalog-model.js";

/** Collect is GET api/playground: where the collector takes events. */
interface Collect {
  path: string;
  same_port: boolean;
  addr: string;
}

interface Message {
  schema?: string;
  instance_path: string;
  schema_path: string;
  keyword?: string;
  message: string;
}

interface Failure {
  type: string;
  messages: Message[];
}

/** Answer is the collector's answer to a request (server's response). */
interface Answer {
  received?: number;
  good?: number;
  failed?: number;
  failures?: (Failure & { index: number })[];
  error?: string;
  failure?: Failure;
}

/** body is the self-describing event the playground checks and the curl sends. */
export function body(key: string, data: string): string {
  return `{"schema":${JSON.stringify(key)},"data":${data.trim() === "" ? "null" : data.trim()}}`;
}

/** shellQuote quotes s for a POSIX shell: 'it'\''s'. */
export function shellQuote(s: string): string {
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

/** collectorURL is where the curl sends the event. */
function collectorURL(c: Collect): string {
  if (c.same_port) {
    // The UI is at <collector>/ui/ (under whatever prefix a proxy adds).
    return absolute(".." + c.path);
  }
  const addr = c.addr.startsWith(":") ? "localhost" + c.addr : c.addr;
  return `http://${addr}${c.path}`;
}

const failureWords: Record<string, string> = {
  schema_violation: "The event does not match its contract.",
  schema_not_found: "The collector does not know this contract (or one of the event's contexts).",
  payload_format_violation: "The event could not be read: it is not valid JSON.",
  size_violation: "The event is too large.",
  protocol_violation: "The event breaks a rule of the protocol.",
};

/**
 * sentAt returns what the user's own data holds at a failure's instance
 * path (/data/...), as JSON, or undefined when it holds nothing there or
 * the data is not JSON. The collector withholds values of governed
 * fields in its answer; the page shows the user their own input.
 */
export function sentAt(data: string, pointer: string): string | undefined {
  if (!pointer.startsWith("/data/")) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return undefined;
  }
  for (const raw of pointer.split("/").slice(2)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (v === null || typeof v !== "object" || !Object.prototype.hasOwnProperty.call(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return JSON.stringify(v);
}

function messagesList(msgs: Message[], data: string): HTMLElement {
  return h(
    "ul",
    { class: "violations" },
    msgs.map((m) =>
      h(
        "li",
        { "data-instance-path": m.instance_path },
        m.instance_path ? h("strong", null, fieldOf(m.instance_path), ": ") : null,
        m.message,
        sentAt(data, m.instance_path) !== undefined ? h("div", { class: "sent" }, "You sent: ", h("code", null, sentAt(data, m.instance_path))) : null,
        m.keyword || m.schema_path ? h("div", { class: "hint" }, `rule: ${m.keyword ?? ""} at ${m.schema_path || "—"}`) : null,
      ),
    ),
  );
}

function verdict(status: number, a: Answer, data: string): HTMLElement {
  const box = h("div", { id: "verdict", "aria-live": "polite" });
  if (status === 200 && a.good === 1 && a.failed === 0) {
    box.className = "ok";
    box.dataset.valid = "true";
    box.append(h("p", null, h("strong", null, "Valid."), " The collector would accept this event as good and store it."));
    return box;
  }
  box.className = "error";
  box.dataset.valid = "false";
  const failure = a.failures?.[0] ?? a.failure;
  if (failure) {
    const n = failure.messages.length;
    box.append(
      h("p", null, h("strong", null, "Not valid."), ` ${failureWords[failure.type] ?? failure.type} ${n === 1 ? "One problem:" : `${n} problems:`}`),
      messagesList(failure.messages, data),
      h("p", { class: "hint" }, `The collector would store it as a failed event (failure type ${failure.type}), not lose it.`),
    );
  } else {
    box.append(h("p", null, h("strong", null, "Refused. "), a.error ?? `answer ${status}`));
  }
  return box;
}

export const playgroundPage: Page = {
  path: "playground",
  title: "Playground",
  async render(root, route) {
    root.append(pageHeader("Playground", "Try an event against a contract before anyone sends it for real. You see exactly what the collector would answer. Nothing you check here is stored."));
    const [cat, collect] = await Promise.all([getJSON<{ contracts: Summary[] }>("api/catalog"), getJSON<Collect>("api/playground")]);
    if (!collect.path) {
      root.append(errorBox(new Error("The self-describing protocol is off in this collector's configuration (protocols), so there is nothing to check events with.")));
      return;
    }
    const wanted = route.query.get("key") ?? "";
    const select = h("select", { id: "pg-contract", "aria-describedby": "pg-contract-hint" });
    const own = cat.contracts.filter((c) => !c.builtin);
    const builtin = cat.contracts.filter((c) => c.builtin);
    const group = (label: string, cs: Summary[]) =>
      cs.length === 0
        ? null
        : h(
            "optgroup",
            { label },
            cs.flatMap((c) => c.keys.map((k, i) => h("option", { value: k, selected: k === wanted }, `${c.vendor} / ${c.name}, version ${c.versions[i]}${c.versions[i] === c.latest ? " (latest)" : ""}`))),
          );
    append(select, [group("Your contracts", own), group("Built into Accord", builtin)]);
    if (!wanted && own.length > 0) select.value = own[0].keys[own[0].keys.length - 1];

    const about = h("p", { id: "pg-about", class: "hint" });
    const data = h("textarea", { id: "pg-data", class: "code", spellcheck: "false", "aria-describedby": "pg-data-hint", rows: 14 });
    const check = h("button", { type: "submit", id: "pg-check" }, "Check the event");
    const example = h("button", { type: "button", class: "secondary", id: "pg-example" }, "Start from the example");
    const result = h("div", { id: "pg-result" });
    const curl = h("pre", { id: "pg-curl", tabindex: "0" });
    const raw = h("pre", { id: "pg-raw" });

    const summaryOf = (key: string) => cat.contracts.find((c) => c.keys.includes(key));
    let example_: string | null = null;
    // Each pick asks for its contract; only the answer to the last pick
    // is used, so that a slower answer to an earlier one never refills
    // the data box the user has started editing (or shows its error).
    let picked = 0;
    const loadExample = async (fill: boolean) => {
      const mine = ++picked;
      const s = summaryOf(select.value);
      example_ = null;
      if (!s) return;
      replace(about, s.description || "This contract has no description.", " ", h("a", { href: link("catalog", s.id) }, "See it in the catalog"), ".");
      let c: Contract;
      try {
        c = await getJSON<Contract>(`api/contract?id=${encodeURIComponent(s.id)}`);
      } catch (err) {
        if (mine === picked) throw err;
        return;
      }
      if (mine !== picked) return;
      const v = c.versions.find((x) => x.key === select.value);
      if (v && v.example !== undefined) example_ = JSON.stringify(v.example, null, 2);
      if (fill && example_ !== null) data.value = example_;
      updateCurl();
    };
    const updateCurl = () => {
      replace(curl, `curl -s ${collectorURL(collect)} -H 'Content-Type: application/json' -d ${shellQuote(body(select.value, data.value))}`);
    };
    const submit = async (e: Event) => {
      e.preventDefault();
      check.disabled = true;
      try {
        const resp = await fetch("api/check", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: body(select.value, data.value),
        });
        const checked = (await resp.json()) as { status?: number; answer?: Answer; error?: string };
        if (!resp.ok || checked.status === undefined || checked.answer === undefined) {
          throw new Error(checked.error ?? `the check failed: ${resp.status} ${resp.statusText}`);
        }
        const answer = checked.answer;
        replace(result, verdict(checked.status, answer, data.value));
        replace(raw, JSON.stringify(answer, null, 2));
      } catch (err) {
        replace(result, errorBox(err));
      } finally {
        check.disabled = false;
      }
    };
    select.addEventListener("change", () => void loadExample(true).catch((err) => replace(result, errorBox(err))));
    data.addEventListener("input", updateCurl);
    example.addEventListener("click", () => {
      if (example_ !== null) {
        data.value = example_;
        updateCurl();
      }
    });

    root.append(
      h(
        "form",
        { id: "pg-form", onsubmit: (e: Event) => void submit(e) },
        h("label", { for: "pg-contract" }, "1. Which event is it?"),
        h("span", { class: "hint", id: "pg-contract-hint" }, "The contract (and its version) the event says it follows."),
        select,
        about,
        h("label", { for: "pg-data" }, "2. The event's data"),
        h("span", { class: "hint", id: "pg-data-hint" }, 'The properties of the event as JSON, such as {"order_id": "A-1", "total": 25.5}: what a tracker sends as the event\'s data. Start from the example and change it to see what breaks.'),
        data,
        h("p", { class: "row" }, check, " ", example),
      ),
      h("h2", null, "What the collector says"),
      result,
      h("details", null, h("summary", null, "The collector's answer as JSON"), raw),
      h("h2", null, "Send it for real"),
      h("p", { class: "hint" }, collect.same_port ? "This command sends the same event to this collector, where it is stored." : "This command sends the same event to the collector (server.addr); use the address your trackers use."),
      curl,
    );
    await loadExample(true);
    if (select.options.length === 0) result.append(h("p", null, "No contract is served yet: add one to the contracts directory."));
  },
};
