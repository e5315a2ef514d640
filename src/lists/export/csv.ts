import { csvField as field } from "../../core/index.ts";
import type { ExportItem } from "./export-item.ts";

const HEADER = "action,scope,value,expires_at,origin,source,reason";

/** One decision per row, any scope, with its expiry as ISO 8601 (empty: until deleted). */
export function exportCsv(items: readonly ExportItem[]): string {
  const rows = [HEADER];
  for (const d of items)
    rows.push(
      [
        d.action,
        d.scope,
        field(d.value),
        d.expiresAt === null ? "" : new Date(d.expiresAt).toISOString(),
        d.origin,
        field(d.scenario),
        field(d.reason),
      ].join(","),
    );
  return `${rows.join("\r\n")}\r\n`;
}
