import { err } from "../../core/index.ts";
import { ListBuilder, listLines, type ListParser } from "./list-builder.ts";

/** Strips a `#` or `;` comment (whole line or trailing) and surrounding blanks. */
export function stripComment(line: string): string {
  const hash = line.indexOf("#");
  const semi = line.indexOf(";");
  const cut = hash < 0 ? semi : semi < 0 ? hash : Math.min(hash, semi);
  return (cut < 0 ? line : line.slice(0, cut)).trim();
}

function plainParser(format: string, addressesOnly: boolean): ListParser {
  return (text, options) => {
    const lines = listLines(text, format);
    if (!lines.ok) return lines;
    const b = new ListBuilder(format, options);
    for (let i = 0; i < lines.value.length; i++) {
      const body = stripComment(lines.value[i]!);
      if (body === "") continue;
      const e = /\s/.test(body)
        ? b.invalid(
            i + 1,
            `expected one ${addressesOnly ? "address" : "address or CIDR"} per line, got ${JSON.stringify(body.slice(0, 60))}`,
          )
        : b.add(body, i + 1, undefined, addressesOnly);
      if (e) return err(e);
    }
    return b.result();
  };
}

/** Addresses and CIDR ranges, one per line; `#` and `;` comments, blank lines. */
export const parsePlain: ListParser = plainParser("plain", false);

/**
 * The Tor Project's bulk exit list (`https://check.torproject.org/torbulkexitlist`): one
 * address per line, nothing else.
 */
export const parseTorBulk: ListParser = plainParser("tor-bulk", true);
