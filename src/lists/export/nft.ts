import { aggregate } from "../aggregate.ts";
import { prefixesOf, type ExportItem } from "./export-item.ts";
import { prefixText } from "./plain.ts";

export interface NftExportOptions {
  /**
   * The `inet` table; default `rempart_export`. Not the enforcer's `rempart`: that one is
   * rebuilt whole at each start, and refused if it holds sets it did not make.
   */
  readonly table?: string;
  /** Set names get `_v4` and `_v6` appended; default `export`. */
  readonly set?: string;
}

const PER_LINE = 500;

/**
 * An `nft -f` script that declares (if missing) and refills two interval sets in one
 * transaction: aggregated prefixes, since an interval set refuses overlapping elements.
 */
export function exportNft(items: readonly ExportItem[], options: NftExportOptions = {}): string {
  const table = options.table ?? "rempart_export";
  const set = options.set ?? "export";
  const ranges = aggregate(prefixesOf(items));
  const out: string[] = [
    `# ${ranges.length} prefixes, aggregated; load with: nft -f FILE`,
    `table inet ${table} {`,
    `  set ${set}_v4 { type ipv4_addr; flags interval; }`,
    `  set ${set}_v6 { type ipv6_addr; flags interval; }`,
    "}",
    `flush set inet ${table} ${set}_v4`,
    `flush set inet ${table} ${set}_v6`,
  ];
  for (const family of [4, 6] as const) {
    const elements = ranges.filter((r) => r.family === family);
    for (let i = 0; i < elements.length; i += PER_LINE) {
      const chunk = elements.slice(i, i + PER_LINE);
      out.push(
        `add element inet ${table} ${set}_v${family} { ${chunk.map(prefixText).join(", ")} }`,
      );
    }
  }
  return `${out.join("\n")}\n`;
}
