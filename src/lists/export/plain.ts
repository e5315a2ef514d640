import { bigIntToIp, formatCidr, type IpRange } from "../../net/index.ts";
import { aggregate } from "../aggregate.ts";
import { prefixesOf, type ExportItem } from "./export-item.ts";

/** `192.0.2.7` for a single address, `192.0.2.0/24` for a range. */
export const prefixText = (r: IpRange): string =>
  r.bits === (r.family === 4 ? 32 : 128) ? bigIntToIp(r.start, r.family) : formatCidr(r);

const lines = (ranges: readonly IpRange[]): string =>
  ranges.map((r) => `${prefixText(r)}\n`).join("");

/** One address or range per line, as the decisions name them. */
export const exportPlain = (items: readonly ExportItem[]): string => lines(prefixesOf(items));

/** The fewest CIDR prefixes that cover the same addresses. */
export const exportAggregated = (items: readonly ExportItem[]): string =>
  lines(aggregate(prefixesOf(items)));
