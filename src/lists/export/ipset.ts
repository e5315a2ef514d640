import { aggregate } from "../aggregate.ts";
import { prefixesOf, type ExportItem } from "./export-item.ts";
import { prefixText } from "./plain.ts";

export interface IpsetExportOptions {
  /** Set names get `-v4` and `-v6` appended; default `rempart`. At most 24 characters. */
  readonly name?: string;
}

/**
 * An `ipset restore` file: each family's set is filled under a temporary name and swapped in,
 * so the live set is never half-full; `hash:net` holds addresses and ranges alike.
 */
export function exportIpset(
  items: readonly ExportItem[],
  options: IpsetExportOptions = {},
): string {
  const name = options.name ?? "rempart";
  const ranges = aggregate(prefixesOf(items));
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    const set = `${name}-v${family}`;
    const tmp = `${set}-tmp`;
    const members = ranges.filter((r) => r.family === family);
    const maxelem = Math.max(65536, 2 ** Math.ceil(Math.log2(members.length + 1)));
    const inet = family === 4 ? "inet" : "inet6";
    out.push(`create ${set} hash:net family ${inet} maxelem ${maxelem} -exist`);
    out.push(`create ${tmp} hash:net family ${inet} maxelem ${maxelem} -exist`);
    out.push(`flush ${tmp}`);
    for (const r of members) out.push(`add ${tmp} ${prefixText(r)}`);
    out.push(`swap ${tmp} ${set}`, `destroy ${tmp}`);
  }
  return `${out.join("\n")}\n`;
}
