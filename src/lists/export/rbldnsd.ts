import type { Action } from "../../core/index.ts";
import { parseCidr } from "../../net/index.ts";
import { compareRanges } from "../entry.ts";
import type { ExportItem } from "./export-item.ts";
import { prefixText } from "./plain.ts";

export interface RbldnsdExportOptions {
  /** `ip4trie` (IPv4 entries) or `ip6trie` (IPv6 entries); default ip4trie. */
  readonly dataset?: "ip4trie" | "ip6trie";
  /** The TXT answer; `$` is replaced by the address queried. */
  readonly text?: string;
}

/** The A record per action, as Rempart's own DNSBL answers. */
const CODES: Readonly<Record<Action, string>> = {
  ban: "127.0.0.2",
  challenge: "127.0.0.3",
  verify: "127.0.0.4",
  throttle: "127.0.0.5",
  hold: "127.0.0.6",
  suspend: "127.0.0.7",
};

/**
 * An rbldnsd zone data file (`ip4trie` or `ip6trie` dataset): a default answer line, then one
 * prefix per line; prefixes whose action is not `ban` carry their own A record.
 */
export function exportRbldnsd(
  items: readonly ExportItem[],
  options: RbldnsdExportOptions = {},
): string {
  const dataset = options.dataset ?? "ip4trie";
  const family = dataset === "ip4trie" ? 4 : 6;
  const text = (options.text ?? "Listed by Rempart: $").replace(/[\r\n]/g, " ");
  const best = new Map<string, { r: NonNullable<ReturnType<typeof parseCidr>>; code: string }>();
  for (const d of items) {
    if (d.scope !== "ip" && d.scope !== "range") continue;
    const r = parseCidr(d.value);
    if (!r || r.family !== family) continue;
    const k = prefixText(r);
    const code = CODES[d.action];
    const had = best.get(k);
    // One line per prefix: a ban wins over milder actions.
    if (!had || code < had.code) best.set(k, { r, code });
  }
  const rows = [...best.values()].sort((a, b) => compareRanges(a.r, b.r));
  const out = [
    `# ${dataset} dataset, ${rows.length} prefixes, written by Rempart`,
    `:${CODES.ban}:${text}`,
  ];
  for (const { r, code } of rows)
    out.push(code === CODES.ban ? prefixText(r) : `${prefixText(r)} :${code}:${text}`);
  return `${out.join("\n")}\n`;
}
