// The catalog model as the UI's routes serve it: package catalog's types
// (internal/catalog), which accord gen catalog writes too. Only the
// members the pages read are declared.

/** Summary is one contract in GET api/catalog. */
export interface Summary {
  id: string;
  vendor: string;
  name: string;
  latest: string;
  builtin: boolean;
  description: string;
  owner: string;
  team: string;
  tags: string[] | null;
  tracking_plan: string[] | null;
  versions: string[];
  keys: string[];
}

export interface Contract {
  id: string;
  vendor: string;
  name: string;
  format: string;
  latest: string;
  builtin: boolean;
  versions: Version[];
  steps: Step[];
}

export interface Version {
  version: string;
  key: string;
  source: string;
  superseded: boolean;
  description: string;
  owner: string;
  team: string;
  tags: string[];
  sla?: { freshness?: string; volume_per_day?: number };
  tracking_plan: string[];
  segment_calls: string[];
  destinations: string[];
  fields: Field[];
  fields_truncated?: boolean;
  places: { sink: string; type: string; kind: string; name: string }[];
  example?: unknown;
  example_error?: string;
}

export interface Field {
  path: string;
  type: string;
  format?: string;
  required: boolean;
  description: string;
  enum?: unknown[];
  pii?: { class: string; action: string; keep_chars?: number };
}

export type Bump = "ADDITION" | "REVISION" | "MODEL";

export interface Change {
  pointer: string;
  property: string;
  kind: string;
  message: string;
  bump: Bump;
}

export interface Step {
  from: string;
  to: string;
  declared: Bump;
  needed: Bump;
  honest: boolean;
  changes: Change[];
  error?: string;
}

/** bumpWords says what a SchemaVer bump means, in plain words. */
export const bumpWords: Record<Bump, string> = {
  ADDITION: "ADDITION: every event valid before is still valid",
  REVISION: "REVISION: some events valid before may now fail",
  MODEL: "MODEL: a breaking change; events valid before will fail",
};

/** piiWords says what Accord does with a field's value, in plain words. */
export function piiWords(p: { class: string; action: string; keep_chars?: number }): string {
  const what: Record<string, string> = {
    keep: "stored as sent",
    hash: "replaced by a salted hash (SHA-256) before it is stored",
    hmac: "replaced by a keyed hash (HMAC) before it is stored: the same value gives the same pseudonym",
    redact: 'replaced by "[redacted]" before it is stored',
    mask: `masked before it is stored: the first ${p.keep_chars ?? 0} characters kept, the rest as *`,
    truncate: `cut to its first ${p.keep_chars ?? 0} characters before it is stored`,
    drop: "removed before the event is stored",
  };
  return `${p.class}: ${what[p.action] ?? p.action}`;
}

/** fieldOf turns a JSON pointer such as /data/items/0/sku into items[0].sku. */
export function fieldOf(pointer: string): string {
  const parts = pointer.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (parts[0] === "data") parts.shift();
  let out = "";
  for (const p of parts) {
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else out += out === "" ? p : `.${p}`;
  }
  return out || "the event as a whole";
}
