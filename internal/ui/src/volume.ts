// Live volume and failure rate per contract version, from the per-contract
// counts of GET /stats (../stats, relative to the UI).
import { getJSON } from "./api.js";
import { formatNumber } from "./dom.js";

interface StatsContracts {
  counted_since?: string;
  contracts: { schema: string; good: number; failed: number }[] | null;
}

export interface Volume {
  good: number;
  failed: number;
}

export interface Volumes {
  since?: string;
  byKey: Map<string, Volume>;
}

/** loadVolumes reads the per-contract counts. */
export async function loadVolumes(): Promise<Volumes> {
  const st = await getJSON<StatsContracts>("../stats");
  const byKey = new Map<string, Volume>();
  for (const c of st.contracts ?? []) byKey.set(c.schema, { good: c.good, failed: c.failed });
  return { since: st.counted_since, byKey };
}

/** sum adds up the volumes of keys (a contract's versions). */
export function sum(v: Volumes, keys: string[]): Volume {
  const out = { good: 0, failed: 0 };
  for (const k of keys) {
    const x = v.byKey.get(k);
    if (x) {
      out.good += x.good;
      out.failed += x.failed;
    }
  }
  return out;
}

/** describe says "1,204 events, 2.1 % failed" or "no events yet". */
export function describe(v: Volume): string {
  const total = v.good + v.failed;
  if (total === 0) return "no events yet";
  const rate = (v.failed / total) * 100;
  return `${formatNumber(total)} ${total === 1 ? "event" : "events"}, ${rate.toFixed(rate > 0 && rate < 0.1 ? 2 : 1)} % failed`;
}
