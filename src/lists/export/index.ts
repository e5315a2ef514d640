import { exportCsv } from "./csv.ts";
import type { ExportItem } from "./export-item.ts";
import { exportIpset } from "./ipset.ts";
import { exportNft } from "./nft.ts";
import { exportAggregated, exportPlain } from "./plain.ts";
import { exportRbldnsd, type DnsblCodes } from "./rbldnsd.ts";

export type { ExportItem } from "./export-item.ts";
export { exportAggregated, exportCsv, exportIpset, exportNft, exportPlain, exportRbldnsd };
export type { DnsblCodes } from "./rbldnsd.ts";

/** What a format may take from the configuration: the DNSBL's codes, for rbldnsd's. */
export interface ExportContext {
  readonly dnsbl?: DnsblCodes;
}

/** Every export format by name, with its default options; the CLI and the API use this table. */
export const EXPORT_FORMATS = Object.freeze({
  plain: exportPlain,
  aggregated: exportAggregated,
  nft: (items: readonly ExportItem[]) => exportNft(items),
  ipset: (items: readonly ExportItem[]) => exportIpset(items),
  rbldnsd: (items: readonly ExportItem[], context: ExportContext = {}) =>
    exportRbldnsd(items, { dataset: "ip4trie", ...(context.dnsbl && { codes: context.dnsbl }) }),
  rbldnsd6: (items: readonly ExportItem[], context: ExportContext = {}) =>
    exportRbldnsd(items, { dataset: "ip6trie", ...(context.dnsbl && { codes: context.dnsbl }) }),
  csv: exportCsv,
} satisfies Record<string, (items: readonly ExportItem[], context?: ExportContext) => string>);

export type ExportFormat = keyof typeof EXPORT_FORMATS;

/** The formats a firewall loads: it drops every address in them, so they hold bans by default. */
export const FIREWALL_FORMATS: ReadonlySet<ExportFormat> = new Set([
  "plain",
  "aggregated",
  "nft",
  "ipset",
]);
export const isExportFormat = (name: string): name is ExportFormat =>
  Object.hasOwn(EXPORT_FORMATS, name);
