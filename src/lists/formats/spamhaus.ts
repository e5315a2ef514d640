import { err } from "../../core/index.ts";
import { ListBuilder, listLines, type ListParser } from "./list-builder.ts";

/**
 * Spamhaus DROP / EDROP / DROPv6 as text: `1.10.16.0/20 ; SBL256894`, with `;` header lines
 * (`; Last-Modified: …`, `; Expires: …`) whose fields end up in `meta`.
 */
export const parseSpamhausDrop: ListParser = (text, options) => {
  const lines = listLines(text, "spamhaus-drop");
  if (!lines.ok) return lines;
  const b = new ListBuilder("spamhaus-drop", options);
  for (let i = 0; i < lines.value.length; i++) {
    const line = lines.value[i]!.trim();
    if (line === "") continue;
    if (line.startsWith(";")) {
      const field = /^;\s*([A-Za-z-]+):\s*(.+)$/.exec(line);
      if (field) b.meta[field[1]!.toLowerCase()] = field[2]!.trim();
      else if (b.meta.title === undefined) b.meta.title = line.slice(1).trim();
      continue;
    }
    const semi = line.indexOf(";");
    const cidr = (semi < 0 ? line : line.slice(0, semi)).trim();
    const note = semi < 0 ? undefined : line.slice(semi + 1).trim();
    const e = /\s/.test(cidr)
      ? b.invalid(i + 1, `expected "CIDR ; SBLnnn", got ${JSON.stringify(line.slice(0, 60))}`)
      : b.add(cidr, i + 1, note);
    if (e) return err(e);
  }
  return b.result();
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Spamhaus DROP as JSON lines (`drop_v4.json`, `drop_v6.json`): one object per line,
 * `{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}`, and a last line
 * `{"type":"metadata","records":N,…}`. Without that line, or when it names a record count that
 * differs from what was read (invalid lines skipped included), the list is refused: that is what
 * a truncated download looks like.
 */
export const parseSpamhausJson: ListParser = (text, options) => {
  const lines = listLines(text, "spamhaus-json");
  if (!lines.ok) return lines;
  const b = new ListBuilder("spamhaus-json", options);
  let records: number | undefined;
  let metaLine = 0;
  for (let i = 0; i < lines.value.length; i++) {
    const line = lines.value[i]!.trim();
    if (line === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      const e = b.invalid(i + 1, "not a JSON object (is the file cut short?)");
      if (e) return err(e);
      continue;
    }
    if (!isRecord(v)) {
      const e = b.invalid(i + 1, "expected a JSON object");
      if (e) return err(e);
      continue;
    }
    if (v.type === "metadata") {
      metaLine = i + 1;
      for (const [k, x] of Object.entries(v))
        if (k !== "type" && (typeof x === "string" || typeof x === "number")) b.meta[k] = String(x);
      if (typeof v.records === "number") records = v.records;
      continue;
    }
    if (typeof v.cidr !== "string") {
      const e = b.invalid(i + 1, 'expected a "cidr" string');
      if (e) return err(e);
      continue;
    }
    const note = [v.sblid, v.rir].filter((x) => typeof x === "string").join(" ");
    const e = b.add(v.cidr, i + 1, note);
    if (e) return err(e);
  }
  if (metaLine === 0)
    return err({
      code: "INPUT_INVALID",
      message:
        "spamhaus-json list: no metadata line at its end (a truncated download?); Spamhaus ends every file with one",
      line: lines.value.length,
    });
  // Invalid lines skipped (`skip_invalid`) were records of the list all the same.
  if (records !== undefined && records !== b.count + b.skipped)
    return err({
      code: "INPUT_INVALID",
      message: `spamhaus-json list, line ${metaLine}: the metadata says ${records} records but ${b.count + b.skipped} were read (a truncated download?)`,
      line: metaLine,
    });
  return b.result();
};
