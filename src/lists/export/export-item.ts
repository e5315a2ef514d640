import type { Decision } from "../../core/index.ts";
import { parseCidr, type IpRange } from "../../net/index.ts";
import { compareRanges } from "../entry.ts";

/** What an export reads of a decision. */
export type ExportItem = Pick<
  Decision,
  "action" | "scope" | "value" | "expiresAt" | "origin" | "scenario" | "reason"
>;

/** The address and range decisions as prefixes, deduplicated, in canonical order. */
export function prefixesOf(items: readonly ExportItem[]): IpRange[] {
  const seen = new Set<string>();
  const out: IpRange[] = [];
  for (const d of items) {
    if (d.scope !== "ip" && d.scope !== "range") continue;
    const r = parseCidr(d.value);
    if (!r) continue;
    const k = `${r.start}/${r.bits}/${r.family}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(r);
  }
  return out.sort(compareRanges);
}
