import type { Action } from "../../core/index.ts";
import { DEFAULT_CODES } from "../../enforcers/dnsbl/dnsbl-config.ts";
import { parseCidr } from "../../net/index.ts";
import { compareRanges } from "../entry.ts";
import type { ExportItem } from "./export-item.ts";
import { prefixText } from "./plain.ts";

/** The codes a DNSBL publishes decisions with (`enforcers.dnsbl`: `codes`, `scenario_codes`). */
export interface DnsblCodes {
  /** Action → A record; a decision whose action has none (and whose scenario has none) is left out. */
  readonly codes: Readonly<Partial<Record<Action, string>>>;
  /** Scenario (or list) name → A record; wins over the action's. */
  readonly scenarioCodes: Readonly<Record<string, string>>;
}

export interface RbldnsdExportOptions {
  /** `ip4trie` (IPv4 entries) or `ip6trie` (IPv6 entries); default ip4trie. */
  readonly dataset?: "ip4trie" | "ip6trie";
  /** The TXT answer; `$` is replaced by the address queried. */
  readonly text?: string;
  /** Rempart's own DNSBL's codes, so that both answer alike (default: its defaults). */
  readonly codes?: DnsblCodes;
}

/** What `enforcers.dnsbl` publishes without a `codes` of its own. */
export const DEFAULT_DNSBL_CODES: DnsblCodes = Object.freeze({
  codes: DEFAULT_CODES,
  scenarioCodes: Object.freeze({}),
});

/** 127.0.0.x's last byte: codes compare as numbers, so 127.0.0.2 comes before 127.0.0.10. */
const rank = (code: string): number => Number(code.slice(code.lastIndexOf(".") + 1));

/**
 * An rbldnsd zone data file (`ip4trie` or `ip6trie` dataset): a default answer line, then one
 * prefix per line with the code Rempart's DNSBL would answer for it (its lowest, where several
 * decisions apply: rbldnsd gives one per prefix); a prefix whose code is the default's carries
 * none of its own.
 */
export function exportRbldnsd(
  items: readonly ExportItem[],
  options: RbldnsdExportOptions = {},
): string {
  const dataset = options.dataset ?? "ip4trie";
  const family = dataset === "ip4trie" ? 4 : 6;
  const text = (options.text ?? "Listed by Rempart: $").replace(/[\r\n]/g, " ");
  const { codes, scenarioCodes } = options.codes ?? DEFAULT_DNSBL_CODES;
  const best = new Map<string, { r: NonNullable<ReturnType<typeof parseCidr>>; code: string }>();
  for (const d of items) {
    if (d.scope !== "ip" && d.scope !== "range") continue;
    const code =
      (Object.hasOwn(scenarioCodes, d.scenario) ? scenarioCodes[d.scenario] : undefined) ??
      codes[d.action];
    if (code === undefined) continue;
    const r = parseCidr(d.value);
    if (!r || r.family !== family) continue;
    const k = prefixText(r);
    const had = best.get(k);
    if (!had || rank(code) < rank(had.code)) best.set(k, { r, code });
  }
  const rows = [...best.values()].sort((a, b) => compareRanges(a.r, b.r));
  const fallback = codes.ban ?? "127.0.0.2";
  const out = [
    `# ${dataset} dataset, ${rows.length} prefixes, written by Rempart`,
    `:${fallback}:${text}`,
  ];
  for (const { r, code } of rows)
    out.push(code === fallback ? prefixText(r) : `${prefixText(r)} :${code}:${text}`);
  return `${out.join("\n")}\n`;
}
