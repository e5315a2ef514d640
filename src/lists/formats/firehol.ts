import { err } from "../../core/index.ts";
import { ListBuilder, listLines, type ListParser } from "./list-builder.ts";

/**
 * FireHOL netsets and ipsets (`firehol_level1.netset`, `*.ipset`): one address or CIDR per line
 * under a `#` header. Header fields (`# Maintainer : …`, `# This File Date : …`,
 * `# Entries : …`) and the set's name (the first word of the header) end up in `meta`.
 */
export const parseFirehol: ListParser = (text, options) => {
  const lines = listLines(text, "firehol");
  if (!lines.ok) return lines;
  const b = new ListBuilder("firehol", options);
  for (let i = 0; i < lines.value.length; i++) {
    const line = lines.value[i]!.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const body = line.replace(/^#+\s*/, "");
      const field = /^([A-Za-z][A-Za-z ]*?)\s*:\s+(.+)$/.exec(body);
      if (field) b.meta[field[1]!.toLowerCase().replace(/\s+/g, "_")] = field[2]!.trim();
      else if (b.meta.name === undefined && /^[\w.-]+$/.test(body)) b.meta.name = body;
      else if (b.meta.type === undefined && /^ipv[46] hash:(ip|net)\b/.test(body))
        b.meta.type = body;
      continue;
    }
    const hash = line.indexOf("#");
    const body = (hash < 0 ? line : line.slice(0, hash)).trim();
    const e = /\s/.test(body)
      ? b.invalid(
          i + 1,
          `expected one address or CIDR per line, got ${JSON.stringify(body.slice(0, 60))}`,
        )
      : b.add(body, i + 1);
    if (e) return err(e);
  }
  return b.result();
};
